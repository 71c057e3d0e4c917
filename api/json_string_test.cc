#include "api/json_string.h"

#include <string>

#include "gtest/gtest.h"

namespace blimp::api {
namespace {

// Scans `text` from 0; the decoded string, or "ERROR: <message> @<pos>".
std::string Scan(const std::string& text, size_t* end = nullptr) {
  size_t pos = 0;
  std::string out;
  absl::Status status = ScanJsonString(text, &pos, &out);
  if (end != nullptr) *end = pos;
  if (!status.ok()) return "ERROR: " + std::string(status.message()) + " @" + std::to_string(pos);
  return out;
}

TEST(JsonStringTest, DecodesEveryEscape) {
  EXPECT_EQ(Scan(R"("a\"b\\c\/d\b\f\n\r\t")"), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(Scan(R"("\u0041\u00e9\u20ac\ud83d\ude00")"), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(Scan(R"("\u0000")"), std::string(1, '\0'));
  EXPECT_EQ(Scan("\"\xc3\xa9\xf0\x9f\x98\x80\""), "\xc3\xa9\xf0\x9f\x98\x80");  // Raw UTF-8.
  EXPECT_EQ(Scan(R"("")"), "");
}

TEST(JsonStringTest, StopsAfterTheClosingQuote) {
  size_t end = 0;
  EXPECT_EQ(Scan(R"("ab", "cd")", &end), "ab");
  EXPECT_EQ(end, 4u);
}

TEST(JsonStringTest, RefusesRawControlCharacters) {
  EXPECT_EQ(Scan("\"a\x01\""), "ERROR: raw control character 0x01 in a string (escape it as "
                               "\\u0001) @2");
  EXPECT_NE(Scan(std::string("\"\0\"", 3)).find("0x00"), std::string::npos);
  EXPECT_NE(Scan("\"\t\"").find("0x09"), std::string::npos);
  EXPECT_EQ(Scan("\"\x7f\""), "\x7f");  // DEL is not a JSON control character.
}

TEST(JsonStringTest, RefusesBadEscapes) {
  EXPECT_NE(Scan(R"("\x")").find("invalid escape"), std::string::npos);
  EXPECT_NE(Scan(R"("\u12g4")").find("4 hex digits"), std::string::npos);
  EXPECT_NE(Scan(R"("\u12)").find("4 hex digits"), std::string::npos);
  EXPECT_NE(Scan(R"("\ud800")").find("lone high surrogate"), std::string::npos);
  EXPECT_NE(Scan(R"("\ud800\u0041")").find("lone high surrogate"), std::string::npos);
  EXPECT_NE(Scan(R"("\udc00")").find("lone low surrogate"), std::string::npos);
  EXPECT_NE(Scan("\"\\").find("invalid escape"), std::string::npos);
}

TEST(JsonStringTest, RefusesInvalidUtf8) {
  for (const char* bad : {"\x80", "\xff", "\xc3", "\xc3(", "\xc0\xaf", "\xe0\x80\xaf",
                          "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80"}) {
    EXPECT_NE(Scan(std::string("\"") + bad + "\"").find("not valid UTF-8"), std::string::npos)
        << bad;
  }
}

TEST(JsonStringTest, RefusesAnUnterminatedString) {
  EXPECT_EQ(Scan(R"("abc)"), "ERROR: unterminated string @4");
  EXPECT_NE(Scan("\"\xc3").find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace blimp::api
