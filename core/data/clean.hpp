// Text clean-up shared by the data loaders: whitespace, HTML, character sets and the parts of RFC-822/MIME
// needed to get readable text out of a raw e-mail. Small, dependency-free and deterministic, so the same
// bytes always give the same example text.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace elsa::data {

/// Reads a whole file as bytes. A missing file is an elsa::error (file_not_found) that names the path and
/// says to run scripts/fetch_data.sh, because every file read here comes from that script.
std::string read_data_file(const std::filesystem::path& file);

/// Throws the same file_not_found error when `dir` is not a folder.
void require_data_dir(const std::filesystem::path& dir);

/// Replaces every run of ASCII whitespace (and U+00A0) with one space and trims both ends.
std::string collapse_whitespace(std::string_view text);

/// Number of whitespace-separated words.
size_t count_words(std::string_view text);

/// True when `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text);

/// Returns `text` unchanged when it is valid UTF-8; otherwise reads it as Latin-1 (what most 2002 e-mail
/// without a charset is) and re-encodes it, so downstream byte-level tokenisers see one encoding.
std::string to_utf8(std::string_view text);

/// Decodes HTML character references: the common named ones (&amp; &nbsp; &quot; ...) and numeric ones
/// (&#233; &#xE9;). Unknown names are left as they are.
std::string decode_entities(std::string_view text);

/// Drops <script>/<style> blocks, comments and tags, then decodes entities. Block-level tags become a
/// space so that words on both sides do not fuse; inline tags (<b>, <font>, ...) vanish.
std::string strip_html(std::string_view html);

/// True when `text` looks like an HTML document or fragment (has <html, <body, <p>, <br, <table, <font ...).
bool looks_like_html(std::string_view text);

/// Content-Transfer-Encoding decoders; malformed input decodes as far as it can (e-mail is messy).
std::string decode_quoted_printable(std::string_view text);
std::string decode_base64(std::string_view text);

/// Decodes RFC 2047 encoded words (=?charset?B|Q?...?=) in a header value. Words in charsets other than
/// ASCII, Latin-1/-15, windows-1252 and UTF-8 are dropped: without iconv tables they would only be noise.
std::string decode_header_words(std::string_view value);

/// Drops whitespace-separated tokens longer than `max_bytes` (undeclared base64 blocks, uuencode, ASCII-art
/// rules and tracking URLs): noise for a small LM and an easy give-away for a classifier. Expects collapsed
/// whitespace and returns it collapsed.
std::string drop_long_tokens(std::string_view text, size_t max_bytes);

/// A parsed RFC-822 entity: header names lower-cased, folded lines unfolded, and the raw body.
struct mail_entity {
  std::map<std::string, std::string> headers;
  std::string body;
};

/// Splits headers from body at the first empty line (a message with no empty line is all headers).
mail_entity parse_mail(std::string_view raw);

/// The readable text of a message body: walks multipart/* (preferring text/plain in
/// multipart/alternative), decodes quoted-printable/base64 text parts, strips HTML, skips attachments.
/// Not whitespace-collapsed.
std::string mail_body_text(const mail_entity& entity);

/// Joins Penn/Brown-style tokens into plain text: no space before , . ; : ! ? ) and closing quotes,
/// none after ( and opening quotes; `` and '' become ".
std::string detokenize(const std::vector<std::string>& tokens);

} // namespace elsa::data
