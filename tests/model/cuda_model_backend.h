// The CUDA backend a model-level test runs on: over the host emulation (every build) or a
// GPU (label gpu). Each test binary links one definition.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace dsv4::testing {

// The backend, or null with *why_not set (the tests then skip with that reason).
std::unique_ptr<Backend> make_model_test_backend(std::string* why_not);

// Kernel launches the calling thread has issued so far (graph replays not counted), or -1
// where the binary cannot count them (a GPU).
int64_t host_kernel_launches();

}  // namespace dsv4::testing
