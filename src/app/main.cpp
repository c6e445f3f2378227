// The `dsv4` executable: subcommands serve, run, chat, bench, logits, make-tiny.
#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "core/log.h"

namespace dsv4 {

int report_exit(const char* command, const Status& status) {
  if (status.is_ok()) return 0;
  DSV4_LOG_ERROR("%s: %s", command, status.to_string().c_str());
  return 1;
}

}  // namespace dsv4

int main(int argc, char** argv) {
  CLI::App app{"dsv4: DeepSeek-V4-Flash inference"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dsv4 ") + DSV4_VERSION);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}))
      ->capture_default_str();
  std::vector<std::pair<CLI::App*, dsv4::CommandRunner>> commands;
  auto add = [&](dsv4::CommandRunner r) { commands.emplace_back(app.get_subcommands({}).back(), std::move(r)); };
  add(dsv4::add_make_tiny_command(app));
  add(dsv4::add_devices_command(app));
  add(dsv4::add_logits_command(app));
  add(dsv4::add_run_command(app));
  add(dsv4::add_chat_command(app));
  add(dsv4::add_bench_command(app));
#if DSV4_APP_HAS_SERVER
  add(dsv4::add_serve_command(app));
#endif
  CLI11_PARSE(app, argc, argv);
  dsv4::set_log_level(log_level == "debug"     ? dsv4::LogLevel::kDebug
                      : log_level == "warning" ? dsv4::LogLevel::kWarning
                      : log_level == "error"   ? dsv4::LogLevel::kError
                                               : dsv4::LogLevel::kInfo);
  for (auto& [sub, run] : commands)
    if (sub->parsed()) return run();
  return 1;
}
