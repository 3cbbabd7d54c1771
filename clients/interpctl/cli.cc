#include "cli.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "actor_commands.h"
#include "admin_commands.h"
#include "command_context.h"
#include "console.h"
#include "exit_codes.h"
#include "run_command.h"
#include "socket_path.h"
#include "usage_formatter.h"

#ifndef INTERPD_VERSION
#error "INTERPD_VERSION must be defined by the build"
#endif

namespace interpd::clients {

namespace {

constexpr const char* kDescription =
    "interpctl: run Python scripts on interpd, a daemon that runs them in parallel on isolated "
    "subinterpreters, and manage its actors.";

std::string MainFooter() {
  const SocketEnvironment env = SocketEnvironment::FromProcess();
  return "\nThe daemon's socket: --socket PATH, else $INTERPD_SOCKET, else the daemon's default\n"
         "(here: " +
         DefaultSocketPath(env) +
         ").\n"
         "interpctl's options go before the first operand (FILE, ACTOR): words after it belong\n"
         "to the script or the method.\n\n" +
         ExitCodesHelp() +
         "\nExamples:\n"
         "  interpctl run -c 'import sys; print(sys.version); 6 * 7'\n"
         "  interpctl run --timeout 10 job.py input.csv\n"
         "  interpctl stats\n"
         "  interpctl call counter add 5\n";
}

// Words that are interpctl options, for the hint when one shows up among
// the operands (where it is taken as a script or method argument).
bool LooksLikeOurOption(const std::string& word, const std::vector<std::string>& options) {
  for (const auto& o : options) {
    if (word == o || word.starts_with(o + "=")) return true;
  }
  return false;
}

// Options of call, send and spawn, recognized among their operands.
const std::vector<std::string> kKnownOptions = {"--kwargs", "--timeout", "-t",        "--quiet", "-q",
                                                "--socket", "-s",        "--code",    "-c",      "--worker",
                                                "-w",       "--restart", "--max-restarts", "--memory-limit"};

// "-x", "--name", but not "-" (stdin) or a negative number ("-1", "-.5").
bool LooksLikeAnOption(const std::string& word) {
  return word.size() > 1 && word[0] == '-' && !std::isdigit(static_cast<unsigned char>(word[1])) && word[1] != '.';
}

// True when argv ends with "--" followed by exactly `tail`.
bool EndsWithDashDashAnd(int argc, char** argv, const std::vector<std::string>& tail) {
  const auto n = static_cast<int>(tail.size());
  if (argc < n + 2) return false;
  if (std::string_view(argv[argc - n - 1]) != "--") return false;
  for (int i = 0; i < n; ++i) {
    if (tail[static_cast<size_t>(i)] != argv[argc - n + i]) return false;
  }
  return true;
}

struct Parsed {
  std::string socket;
  // run
  RunOptions run;
  std::optional<std::string> run_code;
  // stats, version, actors
  bool json = false;
  bool names_only = false;
  // call, send
  ActorCallOptions call;
  // spawn
  SpawnOptions spawn;
  std::optional<std::string> spawn_code;
  // stop
  std::string stop_name;
};

}  // namespace

int InterpctlMain(int argc, char** argv) {
  CLI::App app(kDescription, "interpctl");
  // Set before the subcommands exist: they share the parent's formatter.
  auto formatter = std::make_shared<UsageFormatter>();
  app.formatter(formatter);
  app.set_version_flag("--version", "interpctl " INTERPD_VERSION);
  app.require_subcommand(1);
  // CLI11 hands the words after a `--` to the parent when the subcommand
  // has no positional options left (ours take raw operands instead), so
  // `run -c CODE -- --flag` ends up here; after parsing they are taken
  // back as operands of run/call/send/spawn, and refused for the others.
  app.allow_extras();
  Parsed p;
  // --socket is accepted before and after the subcommand's name. Each
  // subcommand declares it rather than falling through to the parent:
  // CLI11's fallthrough would also hand the raw operands of run/call to the
  // parent, which refuses them.
  auto add_socket = [&p](CLI::App* a) {
    a->add_option("-s,--socket", p.socket, "the daemon's socket (default: $INTERPD_SOCKET, else the daemon's default)")
        ->type_name("PATH");
  };
  add_socket(&app);

  // ---- run ----
  CLI::App* run = app.add_subcommand("run", "Run a Python script on the daemon, streaming its output");
  formatter->SetUsage(run, "interpctl run [OPTIONS] (FILE | - | -c CODE) [--] [ARGS...]");
  run->prefix_command();
  run->add_option("-c,--code", p.run_code, "the script's source text, instead of FILE")->type_name("CODE");
  run->add_option("-t,--timeout", p.run.timeout, "seconds the script may run (the daemon interrupts it; exit 124)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  run->add_option("-w,--worker", p.run.worker, "run on this worker (0-based), not the first free one")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--isolation", p.run.isolation,
                  "reuse: a fresh __main__ in a warm interpreter (default); fresh: an untouched interpreter")
      ->type_name("MODE")
      ->check(CLI::IsMember({"reuse", "fresh"}));
  run->add_option("--lane", p.run.lane,
                  "isolated: own GIL (default); compat: a worker sharing the main GIL, for single-phase-init "
                  "C extensions; auto: retry in compat when the isolated run cannot import one")
      ->type_name("LANE")
      ->check(CLI::IsMember({"isolated", "compat", "auto"}));
  run->add_option("--memory-limit", p.run.memory_limit,
                  "bytes the script may add to its interpreter's memory (e.g. 64MiB); past it, MemoryError")
      ->type_name("SIZE")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber);
  run->add_option("--stdin", p.run.stdin_file, "what the script's sys.stdin reads ('-': interpctl's stdin)")
      ->type_name("FILE");
  run->add_option("--name", p.run.name, "the file name tracebacks show (default: FILE as given)")->type_name("NAME");
  run->add_flag("--by-path", p.run.by_path,
                "send FILE's absolute path instead of its contents: the daemon reads it (it must be able to) "
                "and sets __file__");
  run->add_flag("-q,--quiet", p.run.quiet, "do not print the value of the script's final expression");
  run->add_flag("--json", p.run.json, "print the daemon's whole result object as JSON (output is not streamed)");
  run->footer(
      "\nThe script's stdout and stderr appear as it writes them. A Python exception prints its\n"
      "traceback on stderr (exit 1); sys.exit(N) exits N; the value of a final expression, when\n"
      "not None, is printed as one line of JSON (like the REPL's echo), unless --quiet.\n"
      "Ctrl-C cancels the run on the daemon and exits 130 (a second Ctrl-C stops waiting).\n\n"
      "Examples:\n"
      "  interpctl run job.py --input data.csv     (--input goes to job.py)\n"
      "  interpctl run -c 'sum(range(10**6))'\n"
      "  echo 'print(input())' | interpctl run --stdin names.txt -   (script from stdin)\n"
      "  interpctl run --timeout 5 --stdin names.txt greet.py\n");

  // ---- ping, version, stats ----
  app.add_subcommand("ping", "Check that the daemon answers, and how fast");
  CLI::App* version = app.add_subcommand("version", "Show interpctl's version and the daemon's");
  version->add_flag("--json", p.json, "print the daemon's answer as JSON");
  CLI::App* stats = app.add_subcommand("stats", "Show the daemon's workers, queues and totals");
  stats->add_flag("--json", p.json, "print the daemon's answer as JSON instead of a table");

  // ---- actors ----
  const std::string actor_note =
      "\nArguments are JSON, one value per word: 5, 2.5, '\"text\"', '[1, 2]', '{\"k\": 1}', null.\n"
      "A daemon without actor support answers \"this daemon does not support actors yet\" (exit 76).\n";
  CLI::App* actors = app.add_subcommand("actors", "List the actors");
  actors->add_flag("--json", p.json, "print the daemon's answer as JSON instead of a table");
  actors->add_flag("-q,--quiet", p.names_only, "print only the names, one per line");
  actors->footer(actor_note);

  CLI::App* call = app.add_subcommand("call", "Call an actor's method and print its return value as JSON");
  formatter->SetUsage(call, "interpctl call [OPTIONS] ACTOR METHOD [ARGS as JSON...]");
  call->prefix_command();
  call->add_option("--kwargs", p.call.kwargs, "keyword arguments, a JSON object")->type_name("JSON");
  call->add_option("-t,--timeout", p.call.timeout, "seconds the call may take (the daemon enforces it; exit 124)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  call->add_flag("-q,--quiet", p.call.quiet, "do not print the return value");
  call->footer(actor_note + "\nExample:\n  interpctl call counter add 5    (prints the new total)\n");

  CLI::App* send = app.add_subcommand("send", "Send a message to an actor without waiting for its result");
  formatter->SetUsage(send, "interpctl send [OPTIONS] ACTOR METHOD [ARGS as JSON...]");
  send->prefix_command();
  send->add_option("--kwargs", p.call.kwargs, "keyword arguments, a JSON object")->type_name("JSON");
  send->footer(actor_note);

  CLI::App* spawn = app.add_subcommand("spawn", "Start an actor: an instance of a class defined by FILE or CODE");
  formatter->SetUsage(spawn, "interpctl spawn [OPTIONS] NAME CLASS (FILE | - | -c CODE) [ARGS as JSON...]");
  spawn->prefix_command();
  spawn->add_option("-c,--code", p.spawn_code, "the source defining CLASS, instead of FILE")->type_name("CODE");
  spawn->add_option("--kwargs", p.spawn.kwargs, "keyword arguments for CLASS(...), a JSON object")->type_name("JSON");
  spawn->add_option("-w,--worker", p.spawn.worker, "the worker the actor lives on")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  spawn->add_option("--restart", p.spawn.restart, "restart policy when the actor fails")
      ->type_name("POLICY")
      ->check(CLI::IsMember({"never", "on-failure"}));
  spawn->add_option("--max-restarts", p.spawn.max_restarts, "give up after this many restarts")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  spawn->add_option("--memory-limit", p.spawn.memory_limit,
                    "bytes the actor may grow its interpreter by over its life (e.g. 64MiB); past it, the method "
                    "gets MemoryError")
      ->type_name("SIZE")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber);
  spawn->footer(actor_note + "\nExample:\n  interpctl spawn --restart on-failure counter Counter counter.py 0\n");

  CLI::App* stop = app.add_subcommand("stop", "Stop an actor");
  stop->add_option("NAME", p.stop_name, "the actor's name")->required();

  for (CLI::App* sub : app.get_subcommands({})) {
    add_socket(sub);
    // Only the root collects stray words (see allow_extras above).
    if (sub != run && sub != call && sub != send && sub != spawn) sub->allow_extras(false);
  }
  app.footer(MainFooter());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_code::kUsage;
  }

  Console console;
  auto usage = [&](CLI::App* sub, const std::string& message) {
    console.Error(message, "usage: " + formatter->UsageOf(sub) + "\nsee: interpctl " + sub->get_name() + " --help");
    return exit_code::kUsage;
  };
  CLI::App* chosen = app.get_subcommands().front();
  // Words CLI11 left with the root: legitimate only as the words after a
  // final `--` of a command that takes raw operands (see allow_extras).
  const std::vector<std::string> extras = app.remaining();
  const bool raw_operands = chosen == run || chosen == call || chosen == send || chosen == spawn;
  if (!extras.empty() && (!raw_operands || !EndsWithDashDashAnd(argc, argv, extras))) {
    return usage(chosen, "unexpected argument \"" + extras.front() + "\"");
  }
  std::vector<std::string> words = chosen->remaining();
  words.insert(words.end(), extras.begin(), extras.end());
  // One `--` right after the fixed operands is a separator, not an operand.
  auto drop_separator_at = [&words](size_t i) {
    if (words.size() > i && words[i] == "--") words.erase(words.begin() + static_cast<std::ptrdiff_t>(i));
  };
  // Before the first operand, a word like an option is one CLI11 did not
  // know (prefix commands pass unknown options through instead of failing).
  if (raw_operands && !chosen->remaining().empty() && LooksLikeAnOption(words.front())) {
    return usage(chosen, chosen->get_name() + ": unknown option \"" + words.front() + "\"");
  }
  CommandContext context(ChooseSocket(p.socket, SocketEnvironment::FromProcess()), console);

  if (chosen == run) {
    if (p.run_code) {
      p.run.source = RunOptions::Source::kCode;
      p.run.code = *p.run_code;
    } else {
      if (words.empty()) return usage(run, "run: give a script FILE, - (stdin) or -c CODE");
      p.run.file = words.front();
      p.run.source = p.run.file == "-" ? RunOptions::Source::kStdin : RunOptions::Source::kFile;
      words.erase(words.begin());
      drop_separator_at(0);
    }
    p.run.args = std::move(words);
    if (p.run.source == RunOptions::Source::kStdin && p.run.stdin_file == "-") {
      return usage(run, "run: the script and --stdin cannot both come from interpctl's stdin");
    }
    if (p.run.by_path && p.run.source != RunOptions::Source::kFile) {
      return usage(run, "run: --by-path needs a script FILE");
    }
    RunCommand command(context, std::move(p.run));
    return command.Execute();
  }
  if (chosen->get_name() == "ping") return PingCommand(context);
  if (chosen == version) return VersionCommand(context, p.json);
  if (chosen == stats) return StatsCommand(context, p.json);
  if (chosen == actors) return ActorsCommand(context, p.json, p.names_only);

  // call, send, spawn: `required` fixed operands named `names`, then JSON
  // arguments. None of them can start like one of our options, so one that
  // does was meant as an option, given too late.
  auto check_operands = [&](CLI::App* sub, size_t required, const std::string& names) {
    drop_separator_at(required);
    if (words.size() < required) return usage(sub, sub->get_name() + ": missing " + names);
    for (const auto& w : words) {
      if (LooksLikeOurOption(w, kKnownOptions)) {
        return usage(sub, sub->get_name() + ": \"" + w + "\" comes after " + names.substr(0, names.find(' ')) +
                              ", where it is an operand; interpctl's options go before it");
      }
    }
    return exit_code::kSuccess;
  };
  if (chosen == call || chosen == send) {
    if (const int code = check_operands(chosen, 2, "ACTOR METHOD"); code != exit_code::kSuccess) return code;
    p.call.actor = words[0];
    p.call.method = words[1];
    p.call.args.assign(words.begin() + 2, words.end());
    return chosen == call ? CallCommand(context, p.call) : SendCommand(context, p.call);
  }
  if (chosen == spawn) {
    const size_t required = p.spawn_code ? 2 : 3;
    if (const int code = check_operands(spawn, required, p.spawn_code ? "NAME CLASS" : "NAME CLASS FILE");
        code != exit_code::kSuccess) {
      return code;
    }
    p.spawn.name = words[0];
    p.spawn.class_name = words[1];
    if (p.spawn_code) {
      p.spawn.code = p.spawn_code;
    } else {
      p.spawn.file = words[2];
    }
    p.spawn.args.assign(words.begin() + static_cast<std::ptrdiff_t>(required), words.end());
    return SpawnCommand(context, p.spawn);
  }
  if (chosen == stop) return StopCommand(context, p.stop_name);
  return usage(&app, "no command given");
}

}  // namespace interpd::clients
