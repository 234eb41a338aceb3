# Helpers that keep each layer's CMakeLists.txt to a few lines.
#
# as_add_library(NAME [TORCH] DEPS dep...)
#   Builds every *.cpp in the calling folder (not sub-folders) into a static library.
#   TORCH marks a libtorch layer: it links torch and reuses the shared precompiled header.
# as_add_test(NAME [TORCH] DEPS dep...)
#   Builds every *.cpp in the calling folder into one GoogleTest binary registered with ctest.

set(AS_SRC_ROOT ${CMAKE_SOURCE_DIR}/src)
set(AS_PCH_TARGET "")

# Unity build (ANGELSLIM_UNITY_BUILD) for a target whose sources all pay for heavy headers.
function(as_unity_build target)
  if(ANGELSLIM_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${ANGELSLIM_UNITY_BATCH})
  endif()
endfunction()

function(_as_use_torch target)
  as_unity_build(${target})
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_include_directories(${target} SYSTEM PUBLIC ${TORCH_INCLUDE_DIRS})
  get_property(pch GLOBAL PROPERTY AS_TORCH_PCH_TARGET)
  if(pch STREQUAL "")
    set_property(GLOBAL PROPERTY AS_TORCH_PCH_TARGET ${target})
    target_precompile_headers(${target} PRIVATE ${AS_SRC_ROOT}/common/torch_pch.h)
  else()
    target_precompile_headers(${target} REUSE_FROM ${pch})
  endif()
endfunction()
set_property(GLOBAL PROPERTY AS_TORCH_PCH_TARGET "")

function(as_add_library name)
  cmake_parse_arguments(A "TORCH" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT srcs)  # header-only (or not yet written) layer
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${AS_SRC_ROOT})
    target_link_libraries(${name} INTERFACE ${A_DEPS} Threads::Threads)
    if(A_TORCH)
      target_link_libraries(${name} INTERFACE ${TORCH_LIBRARIES})
      target_include_directories(${name} SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
    endif()
    return()
  endif()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${AS_SRC_ROOT})
  target_link_libraries(${name} PUBLIC ${A_DEPS} Threads::Threads)
  if(A_TORCH)
    _as_use_torch(${name})
  endif()
endfunction()

function(as_add_test name)
  cmake_parse_arguments(A "TORCH" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    ANGELSLIM_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared"
    ANGELSLIM_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    ANGELSLIM_BIN="${CMAKE_BINARY_DIR}/bin/angelslim")
  if(A_TORCH)
    _as_use_torch(${name})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 900)
endfunction()
