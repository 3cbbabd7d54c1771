#include "interpd/protocol/line_handler.h"

#include <memory>

#include "interpd/protocol/batch_collector.h"

namespace interpd::protocol {

void HandleParsedLine(ParsedLine parsed, const Limits& limits, const Responder::Sink& send,
                      const std::function<void(Request, Responder)>& dispatch) {
  Responder::Sink sink = send;
  if (parsed.batch) {
    const size_t expected = parsed.ResponsesExpected();
    if (expected == 0) {
      // All notifications: their Responders swallow every reply, so this
      // sink is never called; it only has to exist.
      sink = [](std::string) {};
    } else {
      auto collector = std::make_shared<BatchCollector>(expected);
      sink = [collector, send](std::string line) {
        if (auto array = collector->Add(line)) send(std::move(*array));
      };
    }
  }
  for (std::string& line : parsed.error_lines) sink(std::move(line));
  for (Request& request : parsed.requests) {
    RequestId id = request.id;
    dispatch(std::move(request), Responder(std::move(id), sink, limits));
  }
}

}  // namespace interpd::protocol
