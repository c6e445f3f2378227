// StopMatcher: hand cases for matches across token boundaries, mid-token starts, overlapping
// and nested stop strings, hold-back and release counts; then a randomized property test
// against a naive search of the whole text.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/stop_matcher.h"

namespace dsv4 {
namespace {

std::shared_ptr<const StopStrings> compile(const std::vector<std::string>& stops) {
  auto r = StopStrings::compile(stops);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.value();
}

// One feed's expected outcome: tokens released by it, and the match if any.
struct Step {
  std::string bytes;
  int64_t released;
  int32_t stop_index = -1;  // -1: no match
  int64_t offset = 0;
};

void run(const std::vector<std::string>& stops, const std::vector<Step>& steps) {
  StopMatcher m(compile(stops));
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    StopFeedResult r = m.feed(s.bytes);
    EXPECT_EQ(r.n_released, s.released) << "feed " << i << " '" << s.bytes << "'";
    if (s.stop_index < 0) {
      EXPECT_FALSE(r.match.has_value()) << "feed " << i;
    } else {
      ASSERT_TRUE(r.match.has_value()) << "feed " << i;
      EXPECT_EQ(r.match->stop_index, s.stop_index) << "feed " << i;
      EXPECT_EQ(r.match->offset, s.offset) << "feed " << i;
    }
  }
}

TEST(StopMatcher, MatchInsideOneToken) {
  run({"END"}, {{"abc", 1}, {"fooENDbar", 1, 0, 6}});
}

TEST(StopMatcher, MatchSplitAcrossTwoAndThreeTokens) {
  run({"END"}, {{"abc", 1}, {"E", 0}, {"ND.", 2, 0, 3}});
  run({"world"}, {{"hello wo", 0}, {"r", 0}, {"ld!", 3, 0, 6}});
  run({"END"}, {{"E", 0}, {"N", 0}, {"D", 3, 0, 0}});
}

TEST(StopMatcher, MatchStartingMidToken) {
  // "xxE" is held because its last byte may start the stop string.
  run({"END"}, {{"ab", 1}, {"xxE", 0}, {"ND", 2, 0, 4}});
}

TEST(StopMatcher, FailedPrefixReleasesExactlyTheTokensThatCanNoLongerMatch) {
  run({"abcd"}, {{"ab", 0}, {"c", 0}, {"x", 3}});
  // "aa" then "a": the first "a" can no longer start "aab", the last two still can.
  run({"aab"}, {{"a", 0}, {"a", 0}, {"a", 1}, {"b", 3, 0, 1}});
  // A failed prefix whose tail starts a new one: "abcab" keeps "ab" held.
  run({"abcd"}, {{"abc", 0}, {"ab", 1}, {"cd", 2, 0, 3}});
}

TEST(StopMatcher, NoFalseHolds) {
  // The first byte of the stop string occurs, but not at the end of the text.
  run({"\nUser:"}, {{"a\nb", 1}, {"c", 1}, {"xyz\n", 0}, {"Assistant", 2}, {"\nUs", 0}, {"er", 0}, {":", 3, 0, 17}});
  run({"END"}, {{"ENd", 1}, {"E N D", 1}});
}

TEST(StopMatcher, EarliestEndWinsThenLongest) {
  // "ab" completes at byte 3 of "xabcd", before "abc" (4) and "bcd" (5).
  run({"abc", "bcd", "ab"}, {{"xa", 0}, {"bcd", 2, 2, 1}});
  run({"abc", "bcd"}, {{"xa", 0}, {"bcd", 2, 0, 1}});
  // Same end: the longer one starts earlier and wins, whatever the list order.
  run({"bc", "abc"}, {{"ab", 0}, {"c", 2, 1, 0}});
  // One token completing two candidates at different ends.
  run({"bcd", "abcdx"}, {{"abcdx", 1, 0, 1}});
  // Duplicates: the lower index.
  run({"zz", "zz"}, {{"zz", 1, 0, 0}});
}

TEST(StopMatcher, PrefixStopStringsMatchAsSoonAsTheShortOneCompletes) {
  run({"abc", "ab"}, {{"a", 0}, {"b", 2, 1, 0}});
  run({"<|end|>", "<|"}, {{"text <", 0}, {"|", 2, 1, 5}});
}

TEST(StopMatcher, MultibyteUtf8IsPlainBytes) {
  const std::string e_acute = "\xC3\xA9";  // é
  const std::string e_grave = "\xC3\xA8";  // è
  run({e_acute}, {{"caf\xC3", 0}, {"\xA9!", 2, 0, 3}});
  run({e_acute}, {{"caf\xC3", 0}, {"\xA8", 2}});
  run({"\xE3\x80\x82"}, {{"\xE3", 0}, {"\x80", 0}, {"\x82", 3, 0, 0}});  // "。" in three byte tokens
  run({e_grave + "x"}, {{e_acute + e_grave, 0}, {"x", 2, 0, 2}});  // held from the 3rd byte
}

TEST(StopMatcher, EmptyTokensFollowTheirNeighbours) {
  run({"ab"}, {{"", 1}, {"a", 0}, {"", 0}, {"c", 3}, {"", 1}});
}

TEST(StopMatcher, FinishReleasesHeldTokens) {
  StopMatcher m(compile({"STOP"}));
  EXPECT_EQ(m.feed("xx").n_released, 1);
  EXPECT_EQ(m.feed("ST").n_released, 0);
  EXPECT_EQ(m.feed("O").n_released, 0);
  EXPECT_EQ(m.n_held(), 2);
  EXPECT_EQ(m.n_pending_bytes(), 3);
  EXPECT_EQ(m.finish(), 2);
  EXPECT_EQ(m.n_held(), 0);
  EXPECT_EQ(m.n_released(), 3);
}

TEST(StopMatcher, AfterAMatchTokensPassStraightThrough) {
  StopMatcher m(compile({"!"}));
  StopFeedResult r = m.feed("hi!");
  ASSERT_TRUE(r.match.has_value());
  r = m.feed("more");
  EXPECT_EQ(r.n_released, 1);
  ASSERT_TRUE(r.match.has_value());
  EXPECT_EQ(r.match->offset, 2);
  EXPECT_EQ(m.finish(), 0);
}

TEST(StopMatcher, WithoutStopStringsNothingIsHeld) {
  StopMatcher none(nullptr);
  EXPECT_EQ(none.feed("abc").n_released, 1);
  StopMatcher empty(compile({}));
  EXPECT_EQ(empty.feed("abc").n_released, 1);
  EXPECT_EQ(empty.n_bytes(), 3);
}

TEST(StopMatcher, CompileRejectsEmptyStrings) {
  auto r = StopStrings::compile({"a", ""});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "stop: string 1 is empty");
}

// ---- property test ----

struct NaiveMatch {
  int32_t stop_index = -1;
  int64_t offset = 0;
};

// The match with the earliest end, then the longest, then the lowest index, by brute force.
NaiveMatch naive_first_match(const std::string& text, const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    NaiveMatch best;
    for (size_t i = 0; i < stops.size(); ++i) {
      const std::string& s = stops[i];
      if (s.size() > end || text.compare(end - s.size(), s.size(), s) != 0) continue;
      if (best.stop_index < 0 || s.size() > stops[static_cast<size_t>(best.stop_index)].size()) {
        best = {static_cast<int32_t>(i), static_cast<int64_t>(end - s.size())};
      }
    }
    if (best.stop_index >= 0) return best;
  }
  return {};
}

// Longest suffix of `text` that is a proper prefix of some stop string.
size_t naive_pending(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& s : stops) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > best; --len) {
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        best = len;
        break;
      }
    }
  }
  return best;
}

std::string random_string(std::mt19937_64& gen, const std::string& alphabet, size_t min_len, size_t max_len) {
  std::uniform_int_distribution<size_t> len(min_len, max_len);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string s(len(gen), '\0');
  for (char& c : s) c = alphabet[pick(gen)];
  return s;
}

TEST(StopMatcher, PropertyMatchesNaiveSearchAndHoldsExactly) {
  std::mt19937_64 gen(2024);
  const std::string alphabets[] = {"ab", "abc", std::string("a\xC3\xA9\n", 4)};
  int n_matched = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string& alphabet = alphabets[trial % 3];
    std::vector<std::string> stops;
    int n_stops = 1 + static_cast<int>(gen() % 4);
    for (int i = 0; i < n_stops; ++i) stops.push_back(random_string(gen, alphabet, 1, 6));
    StopMatcher m(compile(stops));
    std::string text;
    std::vector<size_t> token_ends;
    int64_t n_released = 0;
    for (int t = 0; t < 40 && !m.match(); ++t) {
      std::string token = random_string(gen, alphabet, 0, 4);
      StopFeedResult r = m.feed(token);
      text += token;
      token_ends.push_back(text.size());
      n_released += r.n_released;
      ASSERT_EQ(n_released + m.n_held(), static_cast<int64_t>(token_ends.size()));
      NaiveMatch naive = naive_first_match(text, stops);
      if (naive.stop_index >= 0) {
        // The first feed whose text contains a match reports exactly the naive first match,
        // and releases everything.
        ASSERT_TRUE(r.match.has_value()) << "trial " << trial << " text '" << text << "'";
        EXPECT_EQ(r.match->stop_index, naive.stop_index) << "trial " << trial;
        EXPECT_EQ(r.match->offset, naive.offset) << "trial " << trial;
        EXPECT_EQ(m.n_held(), 0);
        ++n_matched;
        break;
      }
      ASSERT_FALSE(r.match.has_value()) << "trial " << trial;
      // Held tokens are exactly those ending after the start of the pending suffix.
      size_t pending = naive_pending(text, stops);
      ASSERT_EQ(static_cast<size_t>(m.n_pending_bytes()), pending);
      size_t release_limit = text.size() - pending;
      int64_t expected_released = 0;
      while (static_cast<size_t>(expected_released) < token_ends.size() &&
             token_ends[static_cast<size_t>(expected_released)] <= release_limit) {
        ++expected_released;
      }
      ASSERT_EQ(n_released, expected_released) << "trial " << trial << " text '" << text << "'";
    }
    if (!m.match()) {
      n_released += m.finish();
      EXPECT_EQ(n_released, static_cast<int64_t>(token_ends.size()));
    }
  }
  EXPECT_GT(n_matched, 1000);
}

}  // namespace
}  // namespace dsv4
