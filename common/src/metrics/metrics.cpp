#include "lambda/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace lambda::metrics {

Exposition::Exposition() : registry_(std::make_shared<prometheus::Registry>()) {}

void Exposition::Counter(std::string name, std::string help, std::vector<Series> series) {
  sampled_.push_back({std::move(name), std::move(help), true, std::move(series)});
}

void Exposition::Gauge(std::string name, std::string help, std::vector<Series> series) {
  sampled_.push_back({std::move(name), std::move(help), false, std::move(series)});
}

prometheus::Family<prometheus::Histogram>& Exposition::Histogram(const std::string& name,
                                                                 const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
}

std::string Exposition::Text() const {
  std::vector<prometheus::MetricFamily> families;
  families.reserve(sampled_.size() + 4);
  for (const auto& s : sampled_) {
    prometheus::MetricFamily f;
    f.name = s.name;
    f.help = s.help;
    f.type = s.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    for (const auto& series : s.series) {
      prometheus::ClientMetric m;
      for (const auto& [k, v] : series.labels) m.label.push_back({k, v});
      double value = series.read();
      if (s.counter) {
        m.counter.value = value;
      } else {
        m.gauge.value = value;
      }
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  for (auto& f : registry_->Collect()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60};
  return kBuckets;
}

const prometheus::Histogram::BucketBoundaries& LongBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800};
  return kBuckets;
}

}  // namespace lambda::metrics
