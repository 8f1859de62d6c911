// BatchedReadMetrics: a real ReadBatcher's counts reach the rendered exposition at each scrape,
// per read label, and stop being collected when the exporter goes away.
#include "shared/metrics/batched_read_metrics.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace suite::metrics {
namespace {

using Batcher = db::ReadBatcher<std::string>;

Batcher::ReadMany EchoRead() {
  return [](const std::vector<std::string>& keys) -> absl::StatusOr<Batcher::ValueMap> {
    Batcher::ValueMap values;
    for (const std::string& key : keys) values[key] = key;
    return values;
  };
}

TEST(BatchedReadMetricsTest, EachScrapeShowsTheStatementsKeysAndCallersSoFar) {
  Registry registry;
  Batcher sessions({}, EchoRead());
  Batcher questions({}, EchoRead());
  auto session_metrics = BatchedReadMetrics::Export(
      registry, [&sessions] { return sessions.Stats(); }, "sessions");
  ASSERT_TRUE(session_metrics.ok()) << session_metrics.status();
  auto question_metrics = BatchedReadMetrics::Export(
      registry, [&questions] { return questions.Stats(); }, "questions");
  ASSERT_TRUE(question_metrics.ok()) << question_metrics.status();

  ASSERT_TRUE(sessions.Read("a").ok());
  ASSERT_TRUE(sessions.Read("b").ok());
  std::string text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "db_batched_read_statements_total{read=\"sessions\"} 2"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "db_batched_read_keys_total{read=\"sessions\"} 2")) << text;
  EXPECT_TRUE(absl::StrContains(text, "db_batched_read_callers_total{read=\"sessions\"} 2"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "db_batched_read_statements_total{read=\"questions\"} 0"))
      << text;

  ASSERT_TRUE(sessions.Read("c").ok());  // counted once more, not twice
  text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "db_batched_read_statements_total{read=\"sessions\"} 3"))
      << text;

  session_metrics->reset();  // no longer collected; the last values stay
  ASSERT_TRUE(sessions.Read("d").ok());
  text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "db_batched_read_statements_total{read=\"sessions\"} 3"))
      << text;
}

}  // namespace
}  // namespace suite::metrics
