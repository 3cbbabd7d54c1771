// TextTable: rows of cells printed in aligned columns, the way `docker ps`
// and `systemctl list-units` print theirs.
//
// Thread safety: none; a plain value built and printed by one thread.
//
// Invariants:
//   1. Every row has exactly as many cells as there are columns (AddRow
//      pads or cuts).
//   2. Column widths count UTF-8 code points, not bytes, so a name with
//      non-ASCII letters does not push its row out of line.
#ifndef INTERPD_CLIENTS_INTERPCTL_TEXT_TABLE_H_
#define INTERPD_CLIENTS_INTERPCTL_TEXT_TABLE_H_

#include <string>
#include <vector>

namespace interpd::clients {

class TextTable {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit TextTable(std::vector<Column> columns);

  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Header line, then one line per row; columns separated by two spaces,
  // no trailing spaces.
  std::string Render() const;

 private:
  const std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;  // invariant 1
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_TEXT_TABLE_H_
