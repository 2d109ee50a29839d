// The exposition: sampled counters and gauges read at scrape time, histograms, HELP/TYPE for
// every family, label values escaped.
#include "lambda/metrics/metrics.h"

#include <gtest/gtest.h>

namespace lambda::metrics {
namespace {

TEST(Metrics, FamiliesAreExportedFromTheStartAndReadWhenScraped) {
  Exposition e;
  uint64_t n = 0;
  e.Counter("t_events_total", "Events.", {{{}, [&n] { return static_cast<double>(n); }}});
  e.Gauge("t_open", "Open things.", {{{{"kind", "a"}}, [] { return 2.0; }}});
  auto& h = e.Histogram("t_seconds", "Durations.").Add({}, LatencyBuckets());
  std::string before = e.Text();
  EXPECT_NE(before.find("# HELP t_events_total Events.\n# TYPE t_events_total counter\n"
                        "t_events_total 0\n"),
            std::string::npos)
      << before;
  EXPECT_NE(before.find("t_open{kind=\"a\"} 2\n"), std::string::npos) << before;
  EXPECT_NE(before.find("# TYPE t_seconds histogram"), std::string::npos);
  n = 5;
  h.Observe(0.003);
  std::string after = e.Text();
  EXPECT_NE(after.find("t_events_total 5\n"), std::string::npos);
  EXPECT_NE(after.find("t_seconds_bucket{le=\"0.002\"} 0\n"), std::string::npos) << after;
  EXPECT_NE(after.find("t_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(after.find("t_seconds_count 1\n"), std::string::npos);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Exposition e;
  e.Gauge("t_labelled", "Labels.", {{{{"path", "a\"b\\c\nd"}}, [] { return 1.0; }}});
  EXPECT_NE(e.Text().find(R"(t_labelled{path="a\"b\\c\nd"} 1)"), std::string::npos) << e.Text();
}

}  // namespace
}  // namespace lambda::metrics
