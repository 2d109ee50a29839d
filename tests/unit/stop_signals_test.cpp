#include <gtest/gtest.h>
#include <uv.h>

#include <csignal>

#include "lambda/uv/handle.h"

namespace lambda::uv {
namespace {

TEST(StopSignals, ASigtermBeforeTheLoopRunsBecomesOneShutdownNotDeath) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int stops = 0;
  {
    StopSignals stop(&loop, [&] {
      ++stops;
      uv_stop(&loop);
    });
    // As while a service is still starting: the loop has not run yet.
    ASSERT_EQ(raise(SIGTERM), 0);
    ASSERT_EQ(raise(SIGINT), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  EXPECT_EQ(stops, 1);  // once, however many signals came
  EXPECT_TRUE(DrainAndClose(&loop));
}

}  // namespace
}  // namespace lambda::uv
