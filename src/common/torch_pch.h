// Precompiled header shared by every libtorch layer. Only torch-using targets include it.
#pragma once
#include <torch/torch.h>
