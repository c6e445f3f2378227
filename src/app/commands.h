// The subcommands of the `dsv4` executable. Each registers its options on a CLI11
// subcommand and runs when selected; the return value is the process exit code.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "dsv4/status.h"

namespace dsv4 {

// Where the set-up puts the embedded default model (relative to the working directory),
// used when a command is given no --model.
inline constexpr const char* kDefaultModelDir = "models/tiny";

using CommandRunner = std::function<int()>;

// The exit code of a command: 0, or 1 after logging "<command>: <status>".
int report_exit(const char* command, const Status& status);

CommandRunner add_make_tiny_command(CLI::App& app);
CommandRunner add_devices_command(CLI::App& app);
CommandRunner add_logits_command(CLI::App& app);
CommandRunner add_run_command(CLI::App& app);
CommandRunner add_bench_command(CLI::App& app);
CommandRunner add_chat_command(CLI::App& app);
CommandRunner add_serve_command(CLI::App& app);

}  // namespace dsv4
