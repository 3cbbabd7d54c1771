// Tests for clients/interpctl/text_table.h.
#include "text_table.h"

#include <catch2/catch.hpp>

namespace interpd::clients {
namespace {

TEST_CASE("table columns are aligned by code points, numbers to the right, with no trailing spaces") {
  TextTable table({{"NAME", TextTable::Align::kLeft}, {"N", TextTable::Align::kRight}, {"NOTE", TextTable::Align::kLeft}});
  table.AddRow({"caf\xC3\xA9", "7", ""});
  table.AddRow({"a", "1234"});  // a short row is padded
  table.AddRow({"b", "1", "x", "dropped"});
  CHECK(table.rows() == 3);
  CHECK(table.Render() ==
        "NAME     N  NOTE\n"
        "caf\xC3\xA9     7\n"
        "a     1234\n"
        "b        1  x\n");
}

}  // namespace
}  // namespace interpd::clients
