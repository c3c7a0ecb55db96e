// Tests for the text clean-up helpers, with expected values worked out by hand from the formats' specs
// (RFC 2045 quoted-printable/base64, RFC 2047 encoded words, HTML character references).
#include "core/data/clean.hpp"

#include <gtest/gtest.h>

#include "core/data/sources.hpp"

namespace {

using namespace elsa::data;

TEST(Clean, CollapseWhitespace) {
  EXPECT_EQ(collapse_whitespace("  a \t b\n\n c  "), "a b c");
  EXPECT_EQ(collapse_whitespace("x\xC2\xA0y"), "x y"); // U+00A0
  EXPECT_EQ(collapse_whitespace(" \n "), "");
  EXPECT_EQ(count_words(" one two\tthree\n"), 3u);
}

TEST(Clean, Utf8AndLatin1) {
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("caf\xE9"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF")); // overlong '/'
  EXPECT_EQ(to_utf8("caf\xE9"), "caf\xC3\xA9");
  EXPECT_EQ(to_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(Clean, Entities) {
  EXPECT_EQ(decode_entities("&amp;&lt;b&gt; &quot;q&quot; &#233;&#xE9; a&nbsp;b &bogus; AT&T"),
            "&<b> \"q\" \xC3\xA9\xC3\xA9 a b &bogus; AT&T");
  EXPECT_EQ(decode_entities("&#8364;"), "\xE2\x82\xAC"); // euro sign, 3-byte UTF-8
}

TEST(Clean, StripHtml) {
  const char* html = "<html><head><title>t</title><style>p { color: red }</style></head>"
                     "<body><p>Hello <b>W</b>orld</p><!-- a comment --><script>var x = 1 < 2;</script>"
                     "<table><tr><td>one</td><td>two</td></tr></table>&amp; 1 < 2</body></html>";
  EXPECT_EQ(collapse_whitespace(strip_html(html)), "t Hello World one two & 1 < 2");
  EXPECT_TRUE(looks_like_html("Hi<BR>there"));
  EXPECT_FALSE(looks_like_html("if a < b and c > d"));
}

TEST(Clean, TransferEncodings) {
  EXPECT_EQ(decode_quoted_printable("caf=E9 soft=\nbreak a=3Db"), "caf\xE9 softbreak a=b");
  EXPECT_EQ(decode_base64("Zm9vYmFy"), "foobar"); // RFC 4648 test vectors
  EXPECT_EQ(decode_base64("Zm9vYg=="), "foob");
  EXPECT_EQ(decode_base64("Zm9v\nYmE="), "fooba");
}

TEST(Clean, HeaderWords) {
  EXPECT_EQ(decode_header_words("=?iso-8859-1?Q?Caf=E9_au_lait?="), "Caf\xC3\xA9 au lait");
  EXPECT_EQ(decode_header_words("=?utf-8?B?aGVsbG8=?= =?UTF-8?B?IHdvcmxk?= !"), "hello world !");
  EXPECT_EQ(decode_header_words("Re: =?GB2312?B?0rvN+A==?= news"), "Re:  news");
  EXPECT_EQ(decode_header_words("plain =? not encoded"), "plain =? not encoded");
}

TEST(Clean, DropLongTokens) {
  EXPECT_EQ(drop_long_tokens("keep AAAAAAAAAAAAAAAAAAAA this", 10), "keep this");
  EXPECT_EQ(drop_long_tokens("", 10), "");
}

TEST(Clean, MultipartAlternativePrefersPlainText) {
  const char* raw = "From: a@b\n"
                    "Subject: offer\n"
                    "Content-Type: multipart/alternative;\n"
                    "\tboundary=\"XYZ\"\n"
                    "\n"
                    "preamble\n"
                    "--XYZ\n"
                    "Content-Type: text/plain; charset=iso-8859-1\n"
                    "Content-Transfer-Encoding: quoted-printable\n"
                    "\n"
                    "Buy n=\now, caf=E9!\n"
                    "--XYZ\n"
                    "Content-Type: text/html\n"
                    "\n"
                    "<p>Buy now, caf&eacute;!</p>\n"
                    "--XYZ--\n"
                    "epilogue\n";
  auto mail = parse_mail(raw);
  EXPECT_EQ(mail.headers.at("subject"), "offer");
  EXPECT_EQ(mail.headers.at("content-type"), "multipart/alternative; boundary=\"XYZ\"");
  EXPECT_EQ(collapse_whitespace(mail_body_text(mail)), "Buy now, caf\xC3\xA9!");
}

TEST(Clean, MultipartMixedKeepsTextDropsAttachments) {
  const char* raw = "Content-Type: multipart/mixed; boundary=b1\n"
                    "\n"
                    "--b1\n"
                    "Content-Type: text/html\n"
                    "Content-Transfer-Encoding: base64\n"
                    "\n"
                    "PGI+SGk8L2I+IHRoZXJl\n" // "<b>Hi</b> there"
                    "--b1\n"
                    "Content-Type: image/gif\n"
                    "Content-Transfer-Encoding: base64\n"
                    "\n"
                    "R0lGODlhAQABAAAAACw=\n"
                    "--b1--\n";
  EXPECT_EQ(collapse_whitespace(mail_body_text(parse_mail(raw))), "Hi there");
}

TEST(Clean, Detokenize) {
  EXPECT_EQ(detokenize({"``", "Hello", ",", "''", "he", "said", "(", "loudly", ")", "."}),
            "\"Hello,\" he said (loudly).");
  EXPECT_EQ(detokenize({"It", "cost", "$", "5", ";", "cheap", "!"}), "It cost $5; cheap!");
}

TEST(Clean, SplitSentences) {
  // Splits after . ! ? followed by whitespace, keeps >= min_words words.
  EXPECT_EQ(split_sentences("Mr. Smith went to Washington today. Yes! One two three four five? a b c d e", 5),
            (std::vector<std::string>{"Smith went to Washington today.", "One two three four five?", "a b c d e"}));
  EXPECT_EQ(split_sentences("3.5 percent rose. Then it fell", 1),
            (std::vector<std::string>{"3.5 percent rose.", "Then it fell"}));
}

} // namespace
