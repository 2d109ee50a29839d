#include "providers/libvirt/domain_xml.h"

#include <algorithm>

#include "lambda/util/util.h"

namespace lambda::worker::libvirt {

std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string DomainUuid(const std::string& instance_id, int index) {
  std::string h = util::Sha256Hex(instance_id + ":" + std::to_string(index)).substr(0, 32);
  h[12] = '5';                                                  // version 5
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

std::string DomainXml(const GuestConfig& g, const VmFacts& vm) {
  int vcpus = std::clamp(vm.vcpus, 1, std::max(1, g.max_vcpus));
  int64_t ram = std::clamp<int64_t>(vm.ram_mib, 64, std::max<int64_t>(64, g.max_ram_mib));
  std::string cmdline = g.cmdline + " lambda.hostname=" + vm.name;
  // "type base64 comment": the guest's init reads the type and the key as two arguments.
  if (auto sp = g.ssh_key.find(' '); sp != std::string::npos) {
    std::string type = g.ssh_key.substr(0, sp);
    std::string rest = g.ssh_key.substr(sp + 1);
    std::string key = rest.substr(0, rest.find(' '));
    cmdline += " lambda.key_type=" + type + " lambda.key=" + key;
  }
  std::string port = std::to_string(vm.ssh_port);
  std::string x;
  x += "<domain type='" + XmlEscape(g.domain_type) +
       "' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n";
  x += "  <name>" + XmlEscape(vm.name) + "</name>\n";
  x += "  <uuid>" + DomainUuid(vm.instance_id, vm.index) + "</uuid>\n";
  x += "  <title>" + XmlEscape(vm.instance_name + " " + vm.role) + "</title>\n";
  x += "  <metadata>\n    <lambda:instance xmlns:lambda='" + std::string(kMetadataUri) + "'>\n";
  x += "      <id>" + XmlEscape(vm.instance_id) + "</id>\n";
  x += "      <name>" + XmlEscape(vm.instance_name) + "</name>\n";
  x += "      <role>" + XmlEscape(vm.role) + "</role>\n";
  x += "      <request_id>" + XmlEscape(vm.request_id) + "</request_id>\n";
  x += "      <gen>" + std::to_string(vm.gen) + "</gen>\n";
  x += "      <ssh_port>" + port + "</ssh_port>\n";
  x += "    </lambda:instance>\n  </metadata>\n";
  x += "  <memory unit='MiB'>" + std::to_string(ram) + "</memory>\n";
  x += "  <vcpu>" + std::to_string(vcpus) + "</vcpu>\n";
  x += "  <os>\n    <type arch='x86_64'>hvm</type>\n";
  if (!g.kernel.empty()) {
    x += "    <kernel>" + XmlEscape(g.kernel) + "</kernel>\n";
    x += "    <initrd>" + XmlEscape(g.initrd) + "</initrd>\n";
    x += "    <cmdline>" + XmlEscape(cmdline) + "</cmdline>\n";
  } else {
    x += "    <boot dev='hd'/>\n";
  }
  x += "  </os>\n";
  x += "  <features><acpi/></features>\n";
  x += "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n";
  x += "  <on_crash>destroy</on_crash>\n";
  x += "  <devices>\n    <serial type='pty'/>\n    <console type='pty'/>\n";
  if (!vm.disk.empty()) {
    x += "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n";
    x += "      <source file='" + XmlEscape(vm.disk) + "'/>\n";
    x += "      <target dev='vda' bus='virtio'/>\n    </disk>\n";
  }
  if (!vm.seed.empty()) {
    x += "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n";
    x += "      <source file='" + XmlEscape(vm.seed) + "'/>\n";
    x += "      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>\n";
  }
  x += "    <memballoon model='none'/>\n  </devices>\n";
  // User-mode networking: the guest's sshd is reachable on a loopback port of this host. The NIC
  // sits in a PCI slot of its own (libvirt hands out the low ones to the devices it knows).
  x += "  <qemu:commandline>\n";
  x += "    <qemu:arg value='-netdev'/>\n";
  x += "    <qemu:arg value='user,id=lnet0,hostfwd=tcp:" + XmlEscape(g.ssh_host) + ":" + port +
       "-:22'/>\n";
  x += "    <qemu:arg value='-device'/>\n    <qemu:arg "
       "value='virtio-net-pci,netdev=lnet0,addr=0x1e'/>\n";
  x += "  </qemu:commandline>\n</domain>\n";
  return x;
}

std::string SeedMetaData(const VmFacts& vm) {
  return "instance-id: " + DomainUuid(vm.instance_id, vm.index) + "\nlocal-hostname: " + vm.name +
         "\n";
}

std::string SeedUserData(const GuestConfig& guest, const VmFacts& vm) {
  std::string u = "#cloud-config\nhostname: " + vm.name + "\n";
  if (!guest.ssh_key.empty()) {
    // A YAML double-quoted scalar: the key's comment may hold anything.
    std::string key;
    for (char c : guest.ssh_key) {
      if (c == '"' || c == '\\') key += '\\';
      if (c != '\n' && c != '\r') key += c;
    }
    u += "ssh_authorized_keys:\n  - \"" + key + "\"\n";
  }
  return u;
}

std::optional<int> SshPortFromMetadata(const std::string& xml) {
  auto open = xml.find("<ssh_port>");
  if (open == std::string::npos) return std::nullopt;
  open += 10;
  auto close = xml.find("</ssh_port>", open);
  if (close == std::string::npos || close == open || close - open > 5) return std::nullopt;
  int port = 0;
  for (size_t i = open; i < close; ++i) {
    if (xml[i] < '0' || xml[i] > '9') return std::nullopt;
    port = port * 10 + (xml[i] - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

}  // namespace lambda::worker::libvirt
