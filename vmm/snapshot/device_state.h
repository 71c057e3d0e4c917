// Conversions between the devices' state structs and snapshot.proto. From
// the proto, every value is checked to fit its field; the devices check the
// rest when they restore it.
#ifndef BLIMP_VMM_SNAPSHOT_DEVICE_STATE_H_
#define BLIMP_VMM_SNAPSHOT_DEVICE_STATE_H_

#include "absl/status/statusor.h"
#include "device/serial.h"
#include "device/virtio/balloon/balloon.h"
#include "device/virtio/mmio_transport.h"
#include "vmm/snapshot/snapshot.pb.h"

namespace blimp::vmm::snapshot {

SerialState ToProto(const device::SerialState& state);
absl::StatusOr<device::SerialState> FromProto(const SerialState& proto);

VirtioMmioState ToProto(const device::virtio::MmioTransportState& state);
absl::StatusOr<device::virtio::MmioTransportState> FromProto(const VirtioMmioState& proto);

BalloonState ToProto(const device::virtio::balloon::BalloonState& state);
absl::StatusOr<device::virtio::balloon::BalloonState> FromProto(const BalloonState& proto);

}  // namespace blimp::vmm::snapshot

#endif  // BLIMP_VMM_SNAPSHOT_DEVICE_STATE_H_
