#include "interpd/protocol/params_reader.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

#include "interpd/protocol/json_writer.h"
#include "utf8.h"

namespace interpd::protocol {

namespace {

// Client text (field names, bad values) quoted in a message is cut to this.
constexpr size_t kMaxQuoted = 60;

std::string Quote(std::string_view text) {
  std::string out;
  AppendJsonStringLenient(utf8::Sanitize(text, kMaxQuoted), &out);
  return out;
}

// Shortest text that reads back as `d`: "0", "86400", "0.5", "1e+100".
std::string FormatNumber(double d) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, res.ptr);
}

std::string FormatInteger(const Value& v) {
  if (v.kind() == ValueKind::kInt) return std::to_string(v.as_int());
  std::string digits = BigIntToDecimal(v.big_int_bytes());
  if (digits.size() > kMaxQuoted) {
    digits.resize(kMaxQuoted);
    digits += "...";
  }
  return digits;
}

// Levenshtein distance, giving up (returning limit + 1) once it must exceed
// `limit`. Names are short; this runs only to explain an error.
size_t EditDistance(std::string_view a, std::string_view b, size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) return limit + 1;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

ParamsReader::ParamsReader(const Value& params, std::initializer_list<std::string_view> positional)
    : params_(params), positional_(positional) {
  switch (params_.kind()) {
    case ValueKind::kDict: used_.assign(params_.pairs().size(), false); break;
    case ValueKind::kList: used_.assign(params_.items().size(), false); break;
    default: assert(params_.is_none()); break;
  }
}

void ParamsReader::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const Value* ParamsReader::Lookup(std::string_view name, Presence presence) {
  requested_.emplace_back(name);
  const Value* found = nullptr;
  if (params_.kind() == ValueKind::kDict) {
    const auto& pairs = params_.pairs();
    for (size_t k = 0; k < pairs.size(); ++k) {
      if (pairs[k].first.kind() == ValueKind::kStr && pairs[k].first.str() == name) {
        used_[k] = true;
        found = &pairs[k].second;
        break;
      }
    }
  } else if (params_.kind() == ValueKind::kList) {
    auto it = std::find(positional_.begin(), positional_.end(), name);
    const auto k = static_cast<size_t>(it - positional_.begin());
    if (it != positional_.end() && k < params_.items().size()) {
      used_[k] = true;
      found = &params_.items()[k];
    }
  }
  if (!found && presence == kRequired) Fail("params: missing required field " + Quote(name));
  return found;
}

void ParamsReader::WrongType(std::string_view name, std::string_view expected, const Value& got) {
  std::string message = "params.";
  message += name;
  message += ": expected ";
  message += expected;
  message += ", got ";
  message += JsonTypeName(got.kind());
  Fail(std::move(message));
}

std::optional<std::string> ParamsReader::String(std::string_view name, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  if (v->kind() != ValueKind::kStr) {
    WrongType(name, "a string", *v);
    return std::nullopt;
  }
  return std::string(v->str());
}

std::optional<bool> ParamsReader::Bool(std::string_view name, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  if (v->kind() != ValueKind::kBool) {
    WrongType(name, "a boolean", *v);
    return std::nullopt;
  }
  return v->as_bool();
}

std::optional<int64_t> ParamsReader::Int(std::string_view name, int64_t min, int64_t max, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  if (v->kind() == ValueKind::kFloat) {
    Fail("params." + std::string(name) + ": expected an integer, got " + FloatRepr(v->as_float()));
    return std::nullopt;
  }
  if (v->kind() != ValueKind::kInt && v->kind() != ValueKind::kBigInt) {
    WrongType(name, "an integer", *v);
    return std::nullopt;
  }
  if (v->kind() == ValueKind::kBigInt || v->as_int() < min || v->as_int() > max) {
    Fail("params." + std::string(name) + ": must be between " + std::to_string(min) + " and " + std::to_string(max) +
         ", got " + FormatInteger(*v));
    return std::nullopt;
  }
  return v->as_int();
}

std::optional<double> ParamsReader::Number(std::string_view name, double min, double max, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  double d = 0;
  std::string shown;
  switch (v->kind()) {
    case ValueKind::kFloat:
      d = v->as_float();
      shown = FloatRepr(d);
      break;
    case ValueKind::kInt:
      d = static_cast<double>(v->as_int());
      shown = std::to_string(v->as_int());
      break;
    case ValueKind::kBigInt:
      // Beyond any sensible bound; the sign decides which end it misses.
      d = (v->big_int_bytes().back() & 0x80) ? -HUGE_VAL : HUGE_VAL;
      shown = FormatInteger(*v);
      break;
    default: WrongType(name, "a number", *v); return std::nullopt;
  }
  if (!(d >= min && d <= max)) {  // also false for NaN
    Fail("params." + std::string(name) + ": must be between " + FormatNumber(min) + " and " + FormatNumber(max) +
         ", got " + shown);
    return std::nullopt;
  }
  return d;
}

std::optional<std::vector<std::string>> ParamsReader::StringList(std::string_view name, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  if (v->kind() != ValueKind::kList) {
    WrongType(name, "an array of strings", *v);
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(v->items().size());
  for (size_t k = 0; k < v->items().size(); ++k) {
    const Value& item = v->items()[k];
    if (item.kind() != ValueKind::kStr) {
      WrongType(std::string(name) + "[" + std::to_string(k) + "]", "a string", item);
      return std::nullopt;
    }
    out.emplace_back(item.str());
  }
  return out;
}

std::optional<std::string> ParamsReader::OneOf(std::string_view name, std::initializer_list<std::string_view> choices,
                                               Presence presence) {
  std::optional<std::string> s = String(name, presence);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string message = "params." + std::string(name) + ": expected one of ";
  bool first = true;
  for (std::string_view choice : choices) {
    if (!first) message += ", ";
    first = false;
    message += Quote(choice);
  }
  message += ", got " + Quote(*s);
  Fail(std::move(message));
  return std::nullopt;
}

std::optional<Value> ParamsReader::Array(std::string_view name, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  if (v->kind() != ValueKind::kList) {
    WrongType(name, "an array", *v);
    return std::nullopt;
  }
  return *v;
}

std::optional<Value> ParamsReader::Object(std::string_view name, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  if (v->kind() != ValueKind::kDict) {
    WrongType(name, "an object", *v);
    return std::nullopt;
  }
  return *v;
}

std::optional<Value> ParamsReader::Any(std::string_view name, Presence presence) {
  const Value* v = Lookup(name, presence);
  if (!v) return std::nullopt;
  return *v;
}

std::string ParamsReader::Suggest(std::string_view unknown) const {
  std::string best;
  size_t best_distance = 3;  // suggest only near misses: at most 2 edits
  for (const std::string& name : requested_) {
    const size_t d = EditDistance(unknown, name, best_distance - 1);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

Status ParamsReader::Finish() {
  if (params_.kind() == ValueKind::kDict) {
    const auto& pairs = params_.pairs();
    for (size_t k = 0; k < pairs.size(); ++k) {
      if (used_[k]) continue;
      // Keys from JSON are always strings; a Value built in C++ might not be.
      const std::string_view key =
          pairs[k].first.kind() == ValueKind::kStr ? std::string_view(pairs[k].first.str()) : std::string_view("?");
      std::string message = "params: unknown field " + Quote(key);
      if (std::string suggestion = Suggest(key); !suggestion.empty()) {
        message += " (did you mean " + Quote(suggestion) + "?)";
      }
      return Status::InvalidArgument(std::move(message));
    }
  } else if (params_.kind() == ValueKind::kList) {
    const size_t given = params_.items().size();
    if (positional_.empty() && given > 0) {
      return Status::InvalidArgument("params: expected an object (named parameters), got an array");
    }
    if (given > positional_.size()) {
      return Status::InvalidArgument("params: expected at most " + std::to_string(positional_.size()) +
                                     " positional parameters, got " + std::to_string(given));
    }
  }
  if (!error_.empty()) return Status::InvalidArgument(error_);
  return Status::OK();
}

}  // namespace interpd::protocol
