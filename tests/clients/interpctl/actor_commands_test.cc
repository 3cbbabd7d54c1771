// Tests for the argument parsing and formatting in
// clients/interpctl/actor_commands.h.
#include "actor_commands.h"

#include <catch2/catch.hpp>

namespace interpd::clients {
namespace {

Value S(std::string s) { return Value::Str(std::move(s)); }

TEST_CASE("each command-line word is one JSON argument") {
  Value list;
  std::string why;
  REQUIRE(ParseJsonArgs({"1", "-2.5", "\"two words\"", "[1,{\"k\":null}]", "true", "123456789012345678901234567890"},
                        &list, &why));
  REQUIRE(list.items().size() == 6);
  CHECK(list.items()[0] == Value::Int(1));
  CHECK(list.items()[1] == Value::Float(-2.5));
  CHECK(list.items()[2] == S("two words"));
  CHECK(list.items()[3] == Value::List({Value::Int(1), Value::Dict({{S("k"), Value()}})}));
  CHECK(list.items()[4] == Value::Bool(true));
  CHECK(list.items()[5].kind() == ValueKind::kBigInt);
  REQUIRE(ParseJsonArgs({}, &list, &why));
  CHECK(list.items().empty());
}

TEST_CASE("a word that is not JSON is refused, naming which one") {
  Value list;
  std::string why;
  CHECK_FALSE(ParseJsonArgs({"1", "hello"}, &list, &why));
  CHECK_THAT(why, Catch::StartsWith("argument 2 is not JSON: hello"));
  CHECK_FALSE(ParseJsonArgs({"1 2"}, &list, &why));
  CHECK_THAT(why, Catch::StartsWith("argument 1"));
}

TEST_CASE("the keyword arguments option takes a JSON object") {
  Value object;
  std::string why;
  CHECK(ParseJsonObject("{\"a\": 1}", &object, &why));
  CHECK(*object.Find("a") == Value::Int(1));
  CHECK_FALSE(ParseJsonObject("[1]", &object, &why));
  CHECK_THAT(why, Catch::Contains("not a JSON object"));
  CHECK_FALSE(ParseJsonObject("{a: 1}", &object, &why));
  CHECK_THAT(why, Catch::Contains("not JSON"));
}

TEST_CASE("the actor list prints as a table, missing fields as a dash") {
  const Value actors = Value::List({
      Value::Dict({{S("name"), S("counter")}, {S("class"), S("Counter")}, {S("worker"), Value::Int(1)},
                   {S("state"), S("running")}, {S("messages"), Value::Int(0)}, {S("restarts"), Value::Int(2)}}),
      Value::Dict({{S("name"), S("x")}}),
  });
  CHECK(FormatActors(actors) ==
        "NAME     CLASS    WORKER  STATE    MESSAGES  RESTARTS\n"
        "counter  Counter       1  running         0         2\n"
        "x        -             -  -               -         -\n");
}

}  // namespace
}  // namespace interpd::clients
