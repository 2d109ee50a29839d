// The dashboard in a real browser: headless Chromium (Debian's) driven over the DevTools
// protocol by tests/ui/dashboard_cdp.py types a key, creates an instance with the form and sees
// its row reach STARTED live, without a reload. The screenshot is left in
// $LAMBDA_ARTIFACTS_DIR/dashboard.png.
#include <gtest/gtest.h>

#include <cstdio>

#include "support.h"

namespace lambda {
namespace {

using testing::EnvOr;
using testing::Http;
using testing::Stack;

TEST(Dashboard, ServesItsFilesWithAStrictPolicy) {
  Stack stack(Stack::Options{0, {}, {}});
  auto page = Http("GET", stack.url() + "/ui/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos);  // nothing from elsewhere
  EXPECT_EQ(page.body.find("https://"), std::string::npos);
  for (const char* file : {"/ui/script.js", "/ui/style.css", "/ui"}) {
    EXPECT_EQ(Http("GET", stack.url() + file).status, 200) << file;
  }
  EXPECT_EQ(Http("GET", stack.url() + "/ui/../etc/passwd").status, 404);
  EXPECT_EQ(Http("GET", stack.url() + "/ui/missing.js").status, 404);
  EXPECT_EQ(Http("POST", stack.url() + "/ui/").status, 405);
}

TEST(Dashboard, AKeyTypedOnceThenACreateReachesStartedLiveInChromium) {
  Stack stack(Stack::Options{});
  std::string key = stack.NewKey("browser");
  std::string shot = EnvOr("LAMBDA_ARTIFACTS_DIR", stack.logs_dir()) + "/dashboard.png";
  std::string cmd = "/usr/bin/python3 " + EnvOr("LAMBDA_SOURCE_DIR") +
                    "/tests/ui/dashboard_cdp.py " + stack.url() + " " + key + " " + shot + " 2>&1";
  auto run = testing::RunCommand(cmd);
  EXPECT_EQ(run.rc, 0) << run.out;
  std::printf("%s", run.out.c_str());
  FILE* png = std::fopen(shot.c_str(), "rb");
  ASSERT_NE(png, nullptr) << shot;
  unsigned char magic[8] = {};
  EXPECT_EQ(std::fread(magic, 1, 8, png), 8u);
  std::fclose(png);
  EXPECT_EQ(magic[1], 'P');
  EXPECT_EQ(magic[2], 'N');
  EXPECT_EQ(magic[3], 'G');
}

}  // namespace
}  // namespace lambda
