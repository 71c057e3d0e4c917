// VmEvents: a subscriber sees its VM's events (or all), in order; a slow
// one loses the oldest, counted; the subscriber limit; Close ends them.
#include "daemon/vm_events.h"

#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

blimp::v1::VmEvent Event(const std::string& vm, const std::string& reason) {
  blimp::v1::VmEvent event;
  event.set_vm_id(vm);
  event.set_kind(blimp::v1::VM_EVENT_MEMORY_FLAGGED);
  event.set_reason(reason);
  return event;
}

TEST(VmEventsTest, FilteredInOrderAndBounded) {
  VmEvents events(/*max_subscribers=*/2, /*queue_size=*/2);
  auto a = events.Subscribe("a");
  auto all = events.Subscribe("");
  ASSERT_TRUE(a.ok() && all.ok());
  EXPECT_EQ(events.Subscribe("b").status().code(), absl::StatusCode::kResourceExhausted);
  events.Publish(Event("a", "1"));
  events.Publish(Event("b", "2"));
  auto first = (*a)->Next(absl::Seconds(1));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->reason(), "1");
  EXPECT_FALSE((*a)->Next(absl::Milliseconds(10)).has_value());  // b's is not a's.
  EXPECT_EQ((*all)->Next(absl::Seconds(1))->reason(), "1");
  EXPECT_EQ((*all)->Next(absl::Seconds(1))->reason(), "2");
  // Three into a queue of two: the oldest goes, counted on the next one.
  for (const char* r : {"3", "4", "5"}) events.Publish(Event("a", r));
  auto next = (*a)->Next(absl::Seconds(1));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->reason(), "4");
  EXPECT_EQ(next->dropped_before(), 1u);
  a->reset();  // Frees its slot.
  EXPECT_TRUE(events.Subscribe("c").ok());
}

TEST(VmEventsTest, CloseEndsEverySubscription) {
  VmEvents events;
  auto sub = events.Subscribe("");
  ASSERT_TRUE(sub.ok());
  events.Close();
  EXPECT_TRUE((*sub)->closed());
  EXPECT_FALSE((*sub)->Next(absl::Seconds(5)).has_value());  // At once, not after 5 s.
  EXPECT_EQ(events.Subscribe("").status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace blimp::daemon
