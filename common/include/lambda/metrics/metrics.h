#pragma once
/// Prometheus exposition for both binaries, on prometheus-cpp (Debian's prometheus-cpp-dev, core
/// only): its histograms, its data model and its text serializer (HELP/TYPE lines, label
/// escaping, number formatting). Counters and gauges are not prometheus-cpp objects: they stay
/// plain numbers owned by the loop-thread code that changes them (no atomics, no names or
/// labels built per event) and are read when /metrics is scraped, on the same loop. Every family
/// is declared at start-up, so each is exported from the first scrape (counters at 0).
/// Thread: loop only.
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lambda::metrics {

using Labels = std::map<std::string, std::string>;
/// One series of a sampled family: its labels and how to read its value.
struct Series {
  Labels labels;
  std::function<double()> read;
};

class Exposition {
 public:
  Exposition();
  void Counter(std::string name, std::string help, std::vector<Series> series);
  void Gauge(std::string name, std::string help, std::vector<Series> series);
  /// A histogram family; add its series (label sets) with `.Add(labels, buckets)`, once each.
  prometheus::Family<prometheus::Histogram>& Histogram(const std::string& name,
                                                       const std::string& help);
  /// The text exposition format (version 0.0.4).
  std::string Text() const;

 private:
  struct Sampled {
    std::string name;
    std::string help;
    bool counter = false;
    std::vector<Series> series;
  };
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<Sampled> sampled_;
};

/// Latency buckets in seconds, 0.5 ms to 60 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();
/// Command and queue buckets in seconds, 10 ms to 30 min.
const prometheus::Histogram::BucketBoundaries& LongBuckets();

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace lambda::metrics
