// Text clean-up for the loaders: whitespace, HTML, Latin-1/UTF-8, quoted-printable/base64, MIME walking
// and Brown detokenisation. Written for the quirks of the fetched data (2002 e-mail, NLTK Brown), not as
// general-purpose parsers: when input is malformed they keep as much readable text as they can.
#include "core/data/clean.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <unordered_map>

#include <fmt/core.h>

#include "core/errors.hpp"

namespace elsa::data {

namespace {

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool istarts_with(std::string_view s, size_t pos, std::string_view prefix) {
  if (pos + prefix.size() > s.size())
    return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[pos + i])) != prefix[i])
      return false;
  return true;
}

// Case-insensitive find of a lower-case needle. Needles starting with a non-letter ('<') use the fast
// exact find for that first byte: looks_like_html() runs over every e-mail body.
size_t ifind(std::string_view s, std::string_view needle, size_t from = 0) {
  if (needle.empty())
    return from <= s.size() ? from : std::string_view::npos;
  const bool anchor = !std::isalpha(static_cast<unsigned char>(needle[0]));
  for (size_t i = from; i + needle.size() <= s.size(); ++i) {
    if (anchor) {
      i = s.find(needle[0], i);
      if (i == std::string_view::npos || i + needle.size() > s.size())
        return std::string_view::npos;
    }
    if (istarts_with(s, i, needle))
      return i;
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

const std::unordered_map<std::string_view, uint32_t>& named_entities() {
  // The ones that actually occur in the SpamAssassin HTML, plus the usual Latin-1 letters.
  static const std::unordered_map<std::string_view, uint32_t> table{
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},      {"trade", 0x2122}, {"mdash", 0x2014},
    {"ndash", 0x2013}, {"hellip", 0x2026}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"bull", 0x2022},  {"middot", 0xB7},   {"laquo", 0xAB},   {"raquo", 0xBB},
    {"cent", 0xA2},    {"pound", 0xA3},   {"yen", 0xA5},      {"euro", 0x20AC},  {"sect", 0xA7},
    {"deg", 0xB0},     {"plusmn", 0xB1},  {"times", 0xD7},    {"divide", 0xF7},  {"frac12", 0xBD},
    {"frac14", 0xBC},  {"frac34", 0xBE},  {"eacute", 0xE9},   {"egrave", 0xE8},  {"aacute", 0xE1},
    {"agrave", 0xE0},  {"iacute", 0xED},  {"oacute", 0xF3},   {"uacute", 0xFA},  {"ntilde", 0xF1},
    {"uuml", 0xFC},    {"ouml", 0xF6},    {"auml", 0xE4},     {"ccedil", 0xE7},  {"szlig", 0xDF},
    {"Eacute", 0xC9},  {"shy", 0xAD},     {"iexcl", 0xA1},    {"iquest", 0xBF},  {"acute", 0xB4},
  };
  return table;
}

// Tags whose removal must not put a space between the letters around them ("<b>W</b>ord").
bool is_inline_tag(std::string_view name) {
  static constexpr std::array<std::string_view, 17> names{"a",    "b",     "i",   "u",   "em",   "strong",
                                                          "font", "span",  "small", "big", "sup", "sub",
                                                          "tt",   "strike", "s",   "abbr", "o:p"};
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string header_param(std::string_view value, std::string_view name) {
  std::string key = std::string(name) + "=";
  size_t pos = ifind(value, key);
  if (pos == std::string_view::npos)
    return {};
  pos += key.size();
  if (pos < value.size() && value[pos] == '"') {
    size_t end = value.find('"', pos + 1);
    return std::string(value.substr(pos + 1, end == std::string_view::npos ? end : end - pos - 1));
  }
  size_t end = pos;
  while (end < value.size() && value[end] != ';' && !is_space(static_cast<unsigned char>(value[end])))
    ++end;
  return std::string(value.substr(pos, end - pos));
}

std::string header(const mail_entity& e, const std::string& name) {
  auto it = e.headers.find(name);
  return it == e.headers.end() ? std::string{} : it->second;
}

std::string media_type(const mail_entity& e) {
  auto value = header(e, "content-type");
  auto type = to_lower(trim(std::string_view(value).substr(0, value.find(';'))));
  return type.empty() ? "text/plain" : type;
}

std::string body_text(const mail_entity& e, int depth);

std::vector<std::string> multipart_parts(std::string_view body, const std::string& boundary) {
  std::vector<std::string> parts;
  const std::string delimiter = "--" + boundary;
  bool inside = false;
  std::string current;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t eol = body.find('\n', pos);
    std::string_view line = body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.substr(0, delimiter.size()) == delimiter) {
      if (inside)
        parts.push_back(std::move(current));
      current.clear();
      auto rest = trim(line.substr(delimiter.size()));
      if (rest.substr(0, 2) == "--")
        return parts; // closing delimiter; the epilogue is not content
      inside = true;
    } else if (inside) {
      current.append(line);
      current += '\n';
    }
    if (eol == std::string_view::npos)
      break;
    pos = eol + 1;
  }
  if (inside)
    parts.push_back(std::move(current)); // no closing delimiter: keep what we have
  return parts;
}

std::string body_text(const mail_entity& e, int depth) {
  const auto type = media_type(e);
  const auto encoding = to_lower(trim(header(e, "content-transfer-encoding")));
  if (type.rfind("multipart/", 0) == 0 && depth < 8) {
    auto boundary = header_param(header(e, "content-type"), "boundary");
    auto parts = boundary.empty() ? std::vector<std::string>{} : multipart_parts(e.body, boundary);
    if (!parts.empty()) {
      std::vector<std::pair<std::string, std::string>> texts; // (media type, text)
      for (const auto& part : parts) {
        auto sub = parse_mail(part);
        texts.emplace_back(media_type(sub), body_text(sub, depth + 1));
      }
      if (type == "multipart/alternative") {
        // The plain and HTML alternatives say the same thing; keeping both would double the message.
        for (const auto& [t, text] : texts)
          if (t == "text/plain" && !trim(text).empty())
            return text;
        for (auto it = texts.rbegin(); it != texts.rend(); ++it)
          if (!trim(it->second).empty())
            return it->second;
        return {};
      }
      std::string out;
      for (const auto& [t, text] : texts) {
        if (trim(text).empty())
          continue;
        if (!out.empty())
          out += '\n';
        out += text;
      }
      return out;
    }
    // A multipart type without usable boundaries: read the body as plain text.
  } else if (type == "message/rfc822" && depth < 8) {
    return body_text(parse_mail(e.body), depth + 1);
  } else if (type.rfind("text/", 0) != 0 && type.rfind("multipart/", 0) != 0) {
    return {}; // attachments: images, applications, signatures
  }
  std::string decoded = encoding == "quoted-printable" ? decode_quoted_printable(e.body)
                        : encoding == "base64"         ? decode_base64(e.body)
                                                       : e.body;
  // Spam often sends HTML as text/plain (or with no Content-Type at all).
  if (type == "text/html" || looks_like_html(decoded))
    decoded = strip_html(to_utf8(decoded));
  return to_utf8(decoded);
}

} // namespace

std::string read_data_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw elsa::error(errc::file_not_found,
                      fmt::format("cannot read data file {}: it does not exist or is not readable; "
                                  "scripts/fetch_data.sh fetches what is missing",
                                  std::filesystem::absolute(file).lexically_normal().string()));
  }
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(in.tellg());
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(std::max<std::streamoff>(size, 0)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
    throw elsa::error(errc::io_error, fmt::format("reading data file {} failed part-way", file.string()));
  return bytes;
}

void require_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw elsa::error(
      errc::file_not_found,
      fmt::format("data folder {} does not exist{}; scripts/fetch_data.sh fetches the data "
                  "sets into data/ at the repository root",
                  std::filesystem::absolute(dir).lexically_normal().string(),
                  dir.is_relative() ? " (relative paths are taken from the current directory)" : ""));
  }
}

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool space = is_space(c);
    if (!space && c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      space = true; // U+00A0 no-break space
      ++i;
    }
    if (space) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space)
      out += ' ';
    pending_space = false;
    out += static_cast<char>(c);
  }
  return out;
}

size_t count_words(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (char ch : text) {
    bool space = is_space(static_cast<unsigned char>(ch));
    if (!space && !in_word)
      ++words;
    in_word = !space;
  }
  return words;
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size())
      return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and out-of-range code points.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

std::string to_utf8(std::string_view text) {
  if (is_valid_utf8(text))
    return std::string(text);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text)
    append_utf8(out, static_cast<unsigned char>(ch));
  return out;
}

std::string decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto& table = named_entities();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    size_t semi = text.find(';', i + 1);
    if (semi != std::string_view::npos && semi - i <= 10) {
      auto name = text.substr(i + 1, semi - i - 1);
      if (!name.empty() && name[0] == '#') {
        uint32_t cp = 0;
        bool ok = name.size() > 1;
        bool hex = ok && (name[1] == 'x' || name[1] == 'X');
        for (size_t k = hex ? 2 : 1; ok && k < name.size(); ++k) {
          int v = hex ? hex_value(name[k]) : (std::isdigit(static_cast<unsigned char>(name[k])) ? name[k] - '0' : -1);
          ok = v >= 0 && cp < 0x110000;
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(std::max(v, 0));
        }
        ok = ok && name.size() > (hex ? 2u : 1u) && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (ok) {
          append_utf8(out, cp == 0xA0 ? ' ' : cp);
          i = semi;
          continue;
        }
      } else if (auto it = table.find(name); it != table.end()) {
        append_utf8(out, it->second);
        i = semi;
        continue;
      }
    }
    // Sloppy HTML writes "&nbsp" without the semicolon.
    if (text.substr(i, 5) == "&nbsp") {
      out += ' ';
      i += 4;
      continue;
    }
    out += '&';
  }
  return out;
}

bool looks_like_html(std::string_view text) {
  static constexpr std::array<std::string_view, 10> markers{"<html", "<body", "<br>",  "<br ",     "<p>",
                                                            "<table", "<font", "<div", "<a href", "<td"};
  for (auto m : markers)
    if (ifind(text, m) != std::string_view::npos)
      return true;
  return false;
}

std::string strip_html(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      out += html[i++];
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      out += ' ';
      continue;
    }
    size_t j = i + 1;
    bool closing = j < html.size() && html[j] == '/';
    if (closing)
      ++j;
    if (j >= html.size() || !(std::isalpha(static_cast<unsigned char>(html[j])) || html[j] == '!' || html[j] == '?')) {
      out += html[i++]; // a literal '<', as in "a < b"
      continue;
    }
    size_t name_end = j;
    while (name_end < html.size()
           && (std::isalnum(static_cast<unsigned char>(html[name_end])) || html[name_end] == ':' || html[name_end] == '!'))
      ++name_end;
    auto name = to_lower(html.substr(j, name_end - j));
    size_t close = html.find('>', name_end);
    if (close == std::string_view::npos) {
      i = html.size(); // an unterminated tag at the end: drop it
      break;
    }
    i = close + 1;
    if (!closing && (name == "script" || name == "style")) {
      size_t end = ifind(html, name == "script" ? "</script" : "</style", i);
      if (end == std::string_view::npos) {
        i = html.size();
      } else {
        size_t gt = html.find('>', end);
        i = gt == std::string_view::npos ? html.size() : gt + 1;
      }
      out += ' ';
      continue;
    }
    if (!is_inline_tag(name))
      out += ' ';
  }
  return decode_entities(out);
}

std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\n') { // soft line break
      i += 1;
      continue;
    }
    if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
      i += 2;
      continue;
    }
    if (i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += '=';
  }
  return out;
}

std::string decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=')
      break;
    int v = value(c);
    if (v < 0)
      continue; // line breaks and stray characters
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string decode_header_words(std::string_view value) {
  std::string out;
  size_t i = 0;
  bool after_word = false; // whitespace between two encoded words is not part of the text (RFC 2047 §6.2)
  while (i < value.size()) {
    size_t start = value.find("=?", i);
    if (start == std::string_view::npos) {
      out.append(value.substr(i));
      break;
    }
    size_t q1 = value.find('?', start + 2);
    size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
    size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      out.append(value.substr(i, start + 2 - i));
      i = start + 2;
      after_word = false;
      continue;
    }
    auto between = value.substr(i, start - i);
    if (!(after_word && trim(between).empty()))
      out.append(between);
    auto charset = to_lower(value.substr(start + 2, q1 - start - 2));
    char encoding = static_cast<char>(std::toupper(static_cast<unsigned char>(value[q1 + 1])));
    auto payload = value.substr(q2 + 1, end - q2 - 1);
    std::string bytes;
    if (encoding == 'B') {
      bytes = decode_base64(payload);
    } else {
      std::string q(payload);
      std::replace(q.begin(), q.end(), '_', ' ');
      bytes = decode_quoted_printable(q);
    }
    bool readable = charset == "us-ascii" || charset == "iso-8859-1" || charset == "iso-8859-15"
                    || charset == "windows-1252" || charset == "utf-8";
    if (readable)
      out += to_utf8(bytes);
    i = end + 2;
    after_word = true;
  }
  return out;
}

std::string drop_long_tokens(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos)
      j = text.size();
    if (j - i <= max_bytes && j > i) {
      if (!out.empty())
        out += ' ';
      out.append(text.substr(i, j - i));
    }
    i = j + 1;
  }
  return out;
}

mail_entity parse_mail(std::string_view raw) {
  std::string text(raw);
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  mail_entity entity;
  size_t pos = 0;
  std::string last_name;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos)
      eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) {
      entity.body = pos < text.size() ? text.substr(pos) : std::string{};
      return entity;
    }
    if (line[0] == ' ' || line[0] == '\t') { // folded continuation of the previous header
      if (!last_name.empty())
        entity.headers[last_name] += " " + std::string(trim(line));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      last_name.clear();
      continue;
    }
    auto name = line.substr(0, colon);
    if (std::any_of(name.begin(), name.end(), [](char c) { return is_space(static_cast<unsigned char>(c)); })) {
      last_name.clear(); // the mbox "From addr date" line, or a body line without a blank separator
      continue;
    }
    last_name = to_lower(name);
    if (entity.headers.count(last_name) != 0) {
      last_name.clear(); // keep the first occurrence (Received: repeats; Subject: should not)
      continue;
    }
    entity.headers[last_name] = std::string(trim(line.substr(colon + 1)));
  }
  return entity;
}

std::string mail_body_text(const mail_entity& entity) {
  return body_text(entity, 0);
}

std::string detokenize(const std::vector<std::string>& tokens) {
  std::string out;
  bool no_space_next = true;
  for (const auto& raw : tokens) {
    std::string token = raw;
    bool opening = token == "``" || token == "`" || token == "(" || token == "[" || token == "{" || token == "$";
    bool closing = token == "''" || token == "'" || token == "," || token == "." || token == ";" || token == ":"
                   || token == "!" || token == "?" || token == ")" || token == "]" || token == "}" || token == "%"
                   || token == "'s" || token == "n't" || token == "'re" || token == "'ll" || token == "'d"
                   || token == "'ve" || token == "'m";
    if (token == "``" || token == "''")
      token = "\"";
    else if (token == "`")
      token = "'";
    if (!out.empty() && !no_space_next && !closing)
      out += ' ';
    out += token;
    no_space_next = opening;
  }
  return out;
}

} // namespace elsa::data
