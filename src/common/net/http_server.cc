#include "common/net/http_server.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/logging.h"
#include "common/net/socket.h"

namespace mooncake::net {
namespace {

constexpr std::string_view kHeadEnd = "\r\n\r\n";

struct Head {
  std::string method;
  std::string target;
  std::string version;
  std::map<std::string, std::string> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool expect_continue = false;
  bool keep_alive = true;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The request line and headers (without the blank line). nullopt when malformed.
std::optional<Head> parseHead(std::string_view text) {
  Head head;
  size_t line_end = text.find("\r\n");
  std::string_view line = text.substr(0, line_end);
  size_t first = line.find(' ');
  size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
  head.method = std::string(line.substr(0, first));
  head.target = std::string(line.substr(first + 1, second - first - 1));
  head.version = std::string(line.substr(second + 1));
  if (head.method.empty() || head.target.empty() || head.target[0] != '/' ||
      head.version.rfind("HTTP/1.", 0) != 0) {
    return std::nullopt;
  }
  head.keep_alive = head.version != "HTTP/1.0";
  while (line_end != std::string_view::npos && line_end + 2 < text.size()) {
    size_t start = line_end + 2;
    line_end = text.find("\r\n", start);
    line = text.substr(start, line_end == std::string_view::npos ? line_end : line_end - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string name = lower(std::string(trim(line.substr(0, colon))));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "content-length") {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
      head.content_length = std::stoull(value);
    } else if (name == "transfer-encoding") {
      head.chunked = lower(value) != "identity";
    } else if (name == "expect") {
      head.expect_continue = lower(value) == "100-continue";
    } else if (name == "connection") {
      std::string v = lower(value);
      if (v == "close") head.keep_alive = false;
      if (v == "keep-alive") head.keep_alive = true;
    }
    head.headers[name] = std::move(value);
  }
  return head;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of a query component ('+' is a space there, as forms encode it).
std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

void splitTarget(const std::string& target, HttpServerRequest& request) {
  size_t question = target.find('?');
  request.path = decode(std::string_view(target).substr(0, question));
  if (question == std::string::npos) return;
  std::string_view query = std::string_view(target).substr(question + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t equals = pair.find('=');
    std::string key = decode(pair.substr(0, equals));
    std::string value = equals == std::string_view::npos ? "" : decode(pair.substr(equals + 1));
    if (!key.empty()) request.query.emplace(std::move(key), std::move(value));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

FrameReply reply(const HttpServerResponse& response, bool keep_alive) {
  FrameReply out;
  out.bytes = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) +
              "\r\nContent-Type: " + response.content_type +
              "\r\nContent-Length: " + std::to_string(response.body.size());
  for (const auto& [name, value] : response.headers) out.bytes += "\r\n" + name + ": " + value;
  out.bytes +=
      (keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out.bytes += response.body;
  out.close_after = !keep_alive;
  return out;
}

FrameReply refuse(int status, const std::string& why) {
  HttpServerResponse response;
  response.status = status;
  response.body = why;
  return reply(response, /*keep_alive=*/false);
}

}  // namespace

void HttpServer::route(const std::string& method, const std::string& path, Handler handler) {
  routes_[path][method] = std::move(handler);
}

Status HttpServer::start(const std::string& host, uint16_t port, const std::string& what) {
  auto fd = listenTcp(host, port, 512);
  if (!fd.ok()) {
    return Status::error(ErrorCode::ERR_SOCKET, "bind address already in use: " + host + ":" +
                                                    std::to_string(port) + " (" + what + ")");
  }
  MC_ASSIGN_OR_RETURN(port_, boundPort(fd->get()));
  FramedServerOptions options;
  options.name = options_.name;
  options.threads = options_.threads;
  options.max_connections = options_.max_connections;
  options.frame_deadline = options_.request_deadline;
  options.idle_timeout = options_.idle_timeout;
  options.tls = options_.tls;
  server_ = std::make_unique<FramedServer>(
      options, [this](std::string_view received) { return scan(received); },
      [this](std::string_view frame) { return serve(frame); });
  return server_->start(std::move(fd).value());
}

void HttpServer::stop() {
  if (server_) server_->stop();
}

FrameScan HttpServer::scan(std::string_view received) const {
  size_t end = received.substr(0, options_.max_header_bytes + kHeadEnd.size()).find(kHeadEnd);
  if (end == std::string_view::npos) {
    // Headers too long: the whole lot is one (refused) request.
    if (received.size() > options_.max_header_bytes) return FrameScan::complete(received.size());
    return FrameScan::needMore(received.size() + 1);
  }
  const size_t head_bytes = end + kHeadEnd.size();
  auto head = parseHead(received.substr(0, end));
  // A request that is refused is answered from its head alone (its body is never read).
  if (!head || head->chunked || head->content_length.value_or(0) > options_.max_body_bytes) {
    return FrameScan::complete(head_bytes);
  }
  const size_t total = head_bytes + head->content_length.value_or(0);
  if (received.size() < total) {
    FrameScan more = FrameScan::needMore(total);
    if (head->expect_continue) more.interim = "HTTP/1.1 100 Continue\r\n\r\n";
    return more;
  }
  return FrameScan::complete(total);
}

FrameReply HttpServer::serve(std::string_view frame) const {
  size_t end = frame.find(kHeadEnd);
  if (end == std::string_view::npos) return refuse(431, "request headers too large");
  auto head = parseHead(frame.substr(0, end));
  if (!head) return refuse(400, "malformed request");
  if (head->chunked) return refuse(411, "send a Content-Length body (chunked uploads are refused)");
  if (head->content_length.value_or(0) > options_.max_body_bytes) {
    return refuse(413, "body of " + std::to_string(*head->content_length) + " bytes is over the " +
                           std::to_string(options_.max_body_bytes) + "-byte limit");
  }
  HttpServerRequest request;
  request.method = head->method;
  splitTarget(head->target, request);
  request.headers = std::move(head->headers);
  request.body = frame.substr(end + kHeadEnd.size());
  HttpServerResponse response;
  auto path = routes_.find(request.path);
  auto authorization = request.headers.find("authorization");
  if (verifier_.enabled() && options_.open_paths.count(request.path) == 0 &&
      !verifier_.verify(authorization == request.headers.end() ? std::string_view()
                                                               : authorization->second)) {
    response.status = 401;
    response.body = options_.name +
                    " requires authentication: run the client with the cluster's "
                    "MC_AUTH_SECRET (or --auth_secret_file)";
    response.headers.emplace_back("WWW-Authenticate",
                                  std::string(auth::kScheme) + " " + verifier_.challenge());
  } else if (path == routes_.end()) {
    response.status = 404;
    response.body = "no such endpoint: " + request.path;
  } else if (auto handler = path->second.find(request.method); handler == path->second.end()) {
    response.status = 405;
    response.body = request.method + " is not served on " + request.path;
  } else {
    handler->second(request, response);
  }
  return reply(response, head->keep_alive);
}

}  // namespace mooncake::net
