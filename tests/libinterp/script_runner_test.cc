// Running one script: value, output, errors, exit codes, stdin, argv.
#include <string>

#include "test_support.h"

using namespace interpd;
using interpd::test::Describe;
using interpd::test::MakePool;
using interpd::test::Run;
using interpd::test::Script;

TEST_CASE("the final expression's value is the result, as the REPL would show it", "[script]") {
  auto pool = MakePool(1);
  struct Row {
    const char* code;
    Value expected;
  } rows[] = {
      {"1 + 1", Value::Int(2)},
      {"x = 5\nx * 2", Value::Int(10)},
      {"x = 5", Value::None()},
      {"print('hi')", Value::None()},
      {"def f():\n    return 3\nf()", Value::Int(3)},
      {"'caf\\u00e9'", Value::Str("caf\xc3\xa9")},
      {"2 ** 100", Value::BigInt(std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10})},
      {"-(2 ** 70)", Value::BigInt(std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF})},
      {"[1, 2.5, None, True]", Value::List({Value::Int(1), Value::Float(2.5), Value::None(), Value::Bool(true)})},
      {"{'a': (1, 'b')}", Value::Dict({{Value::Str("a"), Value::Tuple({Value::Int(1), Value::Str("b")})}})},
      {"b'\\x00\\xff'", Value::Bytes(std::string("\x00\xff", 2))},
      {"'\\ud800'", Value::Str("\xed\xa0\x80")},
      {"float('-0.0')", Value::Float(-0.0)},
  };
  for (const auto& row : rows) {
    INFO(row.code);
    TaskResult r = Run(*pool, row.code);
    INFO(Describe(r));
    CHECK(r.status == TaskStatus::kOk);
    CHECK(r.value == row.expected);
  }
}

TEST_CASE("a final value that cannot leave the interpreter is an error naming its type", "[script]") {
  auto pool = MakePool(1);
  TaskResult r = Run(*pool, "print('before')\nobject()");
  INFO(Describe(r));
  REQUIRE(r.status == TaskStatus::kError);
  CHECK(r.error->type == "interpd.NotRepresentable");
  CHECK(r.error->message.find("'object'") != std::string::npos);
  CHECK(r.stdout_text == "before\n");
  TaskResult nested = Run(*pool, "[1, {2: lambda: 0}]");
  REQUIRE(nested.status == TaskStatus::kError);
  CHECK(nested.error->message.find("'function'") != std::string::npos);
  TaskResult cyclic = Run(*pool, "a = []\na.append(a)\na");
  REQUIRE(cyclic.status == TaskStatus::kError);
  CHECK(cyclic.error->message.find("deeper") != std::string::npos);
}

TEST_CASE("stdout and stderr are captured per task", "[script]") {
  auto pool = MakePool(1);
  TaskResult r = Run(*pool,
                     "import sys\n"
                     "print('out', 1)\n"
                     "print('err', file=sys.stderr)\n"
                     "sys.stdout.write('x')\n"
                     "sys.stdout.buffer.write(b'\\xff\\n')\n"
                     "print('\\udc80')\n");
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kOk);
  CHECK(r.stdout_text == "out 1\nx\xEF\xBF\xBD\n\\udc80\n");
  CHECK(r.stderr_text == "err\n");
  CHECK_FALSE(r.truncated);
  // The next task starts with empty output.
  TaskResult r2 = Run(*pool, "1");
  CHECK(r2.stdout_text.empty());
  CHECK(r2.stderr_text.empty());
}

TEST_CASE("output beyond the limit is dropped and the result flagged truncated", "[script]") {
  auto pool = MakePool(1);
  TaskRequest req = Script("for i in range(1000):\n    print('\\u00e9' * 10)\n'done'");
  req.output_limit = 1001;  // odd: the cut falls inside a two-byte character
  TaskResult r = pool->Submit(req).Get();
  INFO(Describe(r));
  CHECK(r.status == TaskStatus::kOk);
  CHECK(r.truncated);
  CHECK(r.stdout_text.size() <= 1001);
  CHECK(r.stdout_text.size() >= 999);
  CHECK((static_cast<unsigned char>(r.stdout_text.back()) & 0xC0) != 0xC0);  // not a cut lead byte
  CHECK(r.value == Value::Str("done"));
}

TEST_CASE("a Python exception becomes a plain error with type, message and traceback", "[script]") {
  auto pool = MakePool(1);
  TaskRequest req = Script("x = 1\n\ndef f():\n    return x / 0\n\nprint('partial')\nf()\n");
  req.filename = "job.py";
  TaskResult r = pool->Submit(req).Get();
  INFO(Describe(r));
  REQUIRE(r.status == TaskStatus::kError);
  CHECK(r.error->type == "ZeroDivisionError");
  CHECK(r.error->message == "division by zero");
  CHECK(r.error->traceback.find("File \"job.py\", line 4, in f") != std::string::npos);
  CHECK(r.error->traceback.find("return x / 0") != std::string::npos);
  CHECK(r.error->traceback.find("ZeroDivisionError: division by zero") != std::string::npos);
  CHECK(r.stdout_text == "partial\n");

  TaskResult custom = Run(*pool, "class Boom(Exception):\n    pass\nraise Boom('bang')");
  REQUIRE(custom.status == TaskStatus::kError);
  CHECK(custom.error->type == "Boom");
  CHECK(custom.error->message == "bang");

  TaskResult imported = Run(*pool, "import json\njson.loads('{')");
  REQUIRE(imported.status == TaskStatus::kError);
  CHECK(imported.error->type == "json.decoder.JSONDecodeError");

  TaskResult syntax = Run(*pool, "1 +");
  REQUIRE(syntax.status == TaskStatus::kError);
  CHECK(syntax.error->type == "SyntaxError");
  CHECK(syntax.error->traceback.find("1 +") != std::string::npos);

  TaskResult nul = Run(*pool, std::string("1\0 + 1", 6));
  REQUIRE(nul.status == TaskStatus::kError);
  CHECK(nul.error->type == "SyntaxError");
}

TEST_CASE("SystemExit becomes an exit code", "[script]") {
  auto pool = MakePool(1);
  struct Row {
    const char* code;
    int exit_code;
    const char* stderr_text;
  } rows[] = {
      {"import sys\nsys.exit(3)", 3, ""},
      {"import sys\nsys.exit()", 0, ""},
      {"raise SystemExit(0)", 0, ""},
      {"import sys\nsys.exit('bad input')", 1, "bad input\n"},
      {"import sys\nsys.exit(2**80)", 1, ""},
  };
  for (const auto& row : rows) {
    INFO(row.code);
    TaskResult r = Run(*pool, row.code);
    INFO(Describe(r));
    REQUIRE(r.status == TaskStatus::kExit);
    CHECK(r.exit_code == row.exit_code);
    CHECK(r.stderr_text == row.stderr_text);
    CHECK_FALSE(r.error.has_value());
  }
}

TEST_CASE("sys.argv and sys.stdin come from the request", "[script]") {
  auto pool = MakePool(1);
  TaskRequest req = Script(
      "import sys\n"
      "first = sys.stdin.readline()\n"
      "rest = [line for line in sys.stdin]\n"
      "(sys.argv, first, rest, sys.stdin.read())");
  req.filename = "tool.py";
  req.args = {"-v", "caf\xc3\xa9"};
  req.stdin_text = "line one\nline two\nthree";
  TaskResult r = pool->Submit(req).Get();
  INFO(Describe(r));
  REQUIRE(r.status == TaskStatus::kOk);
  CHECK(r.value == Value::Tuple({
                       Value::List({Value::Str("tool.py"), Value::Str("-v"), Value::Str("caf\xc3\xa9")}),
                       Value::Str("line one\n"),
                       Value::List({Value::Str("line two\n"), Value::Str("three")}),
                       Value::Str(""),
                   }));
  TaskRequest partial = Script("import sys\n(sys.stdin.read(2), sys.stdin.read(3), sys.stdin.readline(1))");
  partial.stdin_text = "\xc3\xa9t\xc3\xa9s\nx";
  TaskResult p = pool->Submit(partial).Get();
  CHECK(p.value == Value::Tuple({Value::Str("\xc3\xa9t"), Value::Str("\xc3\xa9s\n"), Value::Str("x")}));
}

TEST_CASE("each script gets a fresh __main__ while the interpreter stays warm", "[script]") {
  auto pool = MakePool(1);
  REQUIRE(Run(*pool, "secret = 42\nimport fractions\n__name__").value == Value::Str("__main__"));
  TaskResult r = Run(*pool, "secret");
  CHECK(r.status == TaskStatus::kError);
  CHECK(r.error->type == "NameError");
  // The interpreter is reused: the module imported before is still loaded.
  CHECK(Run(*pool, "import sys\n'fractions' in sys.modules").value == Value::Bool(true));
  // A script that replaces sys.stdout does not break the next one.
  REQUIRE(Run(*pool, "import sys, io\nsys.stdout = io.StringIO()\nprint('lost')").status == TaskStatus::kOk);
  CHECK(Run(*pool, "print('seen')").stdout_text == "seen\n");
}

TEST_CASE("classes defined by a script are picklable through its __main__", "[script]") {
  auto pool = MakePool(1);
  TaskResult r = Run(*pool,
                     "import pickle, dataclasses\n"
                     "@dataclasses.dataclass\n"
                     "class P:\n"
                     "    x: int\n"
                     "pickle.loads(pickle.dumps(P(3))).x");
  INFO(Describe(r));
  CHECK(r.value == Value::Int(3));
}

TEST_CASE("streamed output arrives in the order produced, before the result", "[script]") {
  auto pool = MakePool(1);
  std::vector<std::pair<OutputStream, std::string>> chunks;
  std::mutex mu;
  std::atomic<bool> result_seen{false};
  std::atomic<bool> output_after_result{false};
  TaskRequest req = Script(
      "import sys\n"
      "print('a')\n"
      "print('b', file=sys.stderr)\n"
      "sys.stdout.write('c')\n"
      "sys.stdout.flush()\n"
      "sys.stdout.write('d')\n"
      "7");
  req.on_output = [&](OutputStream s, std::string_view text) {
    if (result_seen) output_after_result = true;
    std::lock_guard<std::mutex> lock(mu);
    chunks.emplace_back(s, std::string(text));
  };
  std::promise<TaskResult> done;
  pool->Submit(req, [&](TaskResult r) {
    result_seen = true;
    done.set_value(std::move(r));
  });
  TaskResult r = done.get_future().get();
  CHECK(r.value == Value::Int(7));
  CHECK(r.stdout_text.empty());
  CHECK_FALSE(output_after_result);
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(chunks.size() == 4);
  CHECK(chunks[0] == std::make_pair(OutputStream::kStdout, std::string("a\n")));
  CHECK(chunks[1] == std::make_pair(OutputStream::kStderr, std::string("b\n")));
  CHECK(chunks[2] == std::make_pair(OutputStream::kStdout, std::string("c")));
  CHECK(chunks[3] == std::make_pair(OutputStream::kStdout, std::string("d")));
}

TEST_CASE("the interpd module is importable in every worker and knows where it runs", "[script]") {
  auto pool = MakePool(2);
  for (int w = 0; w < 2; ++w) {
    TaskResult r = Run(*pool, "import interpd\n(interpd.worker_id(), interpd.interpreter_id() > 0)", w);
    INFO(Describe(r));
    CHECK(r.value == Value::Tuple({Value::Int(w), Value::Bool(true)}));
    CHECK(r.worker == w);
  }
}
