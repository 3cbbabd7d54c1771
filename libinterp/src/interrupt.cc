#include "interrupt.h"

#include <cassert>

namespace interpd {

void Interrupt::Fire() {
  fired_.store(true, std::memory_order_seq_cst);
  std::lock_guard<std::mutex> lock(mu_);
  if (ec_ != nullptr) ec_->NotifyAll();
}

void Interrupt::Attach(EventCount* ec) {
  std::lock_guard<std::mutex> lock(mu_);
  assert(ec_ == nullptr && "one blocking call at a time per Interrupt");
  ec_ = ec;
}

void Interrupt::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  ec_ = nullptr;
}

}  // namespace interpd
