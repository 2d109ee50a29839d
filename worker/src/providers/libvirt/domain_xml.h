#pragma once
/// The libvirt domain of one VM, as XML (pure; unit-tested without libvirt). A kernel+initramfs
/// guest with a QEMU user-mode network whose SSH port is forwarded to a loopback port, the
/// instance's facts in `<metadata>`, and a UUID derived from the instance id and the VM's index,
/// so that a define repeated by a second worker names the same domain.
#include <cstdint>
#include <optional>
#include <string>

namespace lambda::worker::libvirt {

/// The namespace of lambda's `<metadata>` element.
inline constexpr const char* kMetadataUri = "https://lambda.dev/xmlns/instance/1";

struct GuestConfig {
  std::string domain_type = "qemu";  ///< kvm where KVM works, qemu (TCG) otherwise, test
  std::string kernel;  ///< with initrd: direct kernel boot (with or without a disk image)
  std::string initrd;
  std::string image;     ///< a qcow2 base: each VM boots an overlay of it, with a NoCloud seed
  std::string disk_dir;  ///< where overlays and seeds live
  int max_disk_gib = 64;
  std::string cmdline = "console=ttyS0 quiet";
  std::string ssh_key;  ///< "ssh-ed25519 AAAA…": put on the kernel command line for the guest
  std::string ssh_host = "127.0.0.1";
  int max_vcpus = 2;
  int64_t max_ram_mib = 2048;
};

struct VmFacts {
  std::string name;
  std::string instance_id;
  std::string instance_name;
  std::string role;  ///< master | slave
  int index = 0;
  std::string request_id;
  int64_t gen = 0;
  int vcpus = 1;
  int64_t ram_mib = 512;
  int ssh_port = 0;
  int disk_gib = 5;
  std::string disk;  ///< the VM's qcow2 overlay; empty = no disk
  std::string seed;  ///< its cloud-init NoCloud seed (ISO 9660, volume "cidata")
};

/// The NoCloud seed's files: meta-data (instance id, hostname) and user-data (#cloud-config
/// with the SSH key). Pure.
std::string SeedMetaData(const VmFacts& vm);
std::string SeedUserData(const GuestConfig& guest, const VmFacts& vm);

/// RFC 4122 form of SHA-256(instance id ":" index), version 5 bits set.
std::string DomainUuid(const std::string& instance_id, int index);
std::string DomainXml(const GuestConfig& guest, const VmFacts& vm);
/// The `<ssh_port>` of lambda's metadata element as virDomainGetMetadata returns it.
std::optional<int> SshPortFromMetadata(const std::string& metadata_xml);
/// Escapes text for an XML attribute or element.
std::string XmlEscape(const std::string& s);

}  // namespace lambda::worker::libvirt
