// interpd.Channel: the Python face of ChannelCore, plus interpd.channel(name)
// for named rendezvous.
//
// Thread safety: an object belongs to one interpreter (its GIL); the
// ChannelCore it wraps is shared by every interpreter that holds the
// channel and is safe from any thread. Blocking calls release the GIL.
//
// Invariants:
//   1. A value is converted to a Value in the sender before anything is
//      enqueued: an unshareable value raises and leaves the channel as it
//      was.
//   2. A blocking call made by the worker's own thread wakes when the task
//      is interrupted (timeout/cancel) and raises the task's interrupt.
#ifndef INTERPD_CHANNEL_OBJECT_H_
#define INTERPD_CHANNEL_OBJECT_H_

#include <memory>

#include "channel_core.h"
#include "interpd_module.h"

namespace interpd {

int AddChannelType(PyObject* module, ModuleState* st);

// A new Channel object over `core`. REQUIRES: GIL.
PyObject* NewChannelObject(ModuleState* st, std::shared_ptr<ChannelCore> core);
// The core of a Channel object, or nullptr if `obj` is not one.
const std::shared_ptr<ChannelCore>* ChannelObjectCore(ModuleState* st, PyObject* obj);

// interpd.channel(name, maxsize=0, *, pickle=False)
PyObject* NamedChannel(PyObject* module, PyObject* args, PyObject* kwds);

}  // namespace interpd

#endif  // INTERPD_CHANNEL_OBJECT_H_
