#include "shared/rpc/server/server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "shared/base/json_log.h"
#include "shared/metrics/http_server.h"
#include "shared/metrics/metrics.h"
#include "shared/rpc/handler/calls_in_flight.h"
#include "shared/rpc/server/call_interceptor.h"
#include "shared/rpc/server/library_log.h"
#include "shared/rpc/server/tls.h"

namespace suite::rpc {
namespace {

// Self-pipe: the signal handler may only do async-signal-safe things, so it writes one byte
// that Run() is polling for.
int g_signal_fds[2] = {-1, -1};

void OnTerminationSignal(int signo) {
  int saved_errno = errno;
  char byte = static_cast<char>(signo);
  ssize_t ignored = write(g_signal_fds[1], &byte, 1);
  (void)ignored;
  errno = saved_errno;
}

void InstallSignalHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (pipe2(g_signal_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      WriteLogLine({{"severity", "ERROR"},
                    {"event", "server.signals_unavailable"},
                    {"errno", errno}});
      return;
    }
    struct sigaction action = {};
    action.sa_handler = OnTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
  });
}

void DrainPipe(int fd) {
  char buffer[64];
  while (read(fd, buffer, sizeof(buffer)) > 0) {
  }
}

// Both are process-wide switches that must be thrown before the first ServerBuilder.
void InitGrpcPlugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    // Naming a health message links grpc/health/v1/health.pb.o, whose descriptor lets
    // reflection describe grpc.health.v1.Health (the default health service has none).
    (void)grpc::health::v1::HealthCheckRequest::descriptor();
    // Likewise the error details every service sends (status.h): reflection then describes
    // google.rpc.Status, ErrorInfo and BadRequest to any client that asks, whether or not this
    // binary happens to build such a detail itself.
    (void)google::rpc::Status::descriptor();
    (void)google::rpc::ErrorInfo::descriptor();
    (void)google::rpc::BadRequest::descriptor();
  });
}

}  // namespace

void SetServingProcessDefaults() {
  RouteLibraryLogsToJsonLog();
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

GrpcServer::GrpcServer(const ServerConfig& config, std::vector<ServiceEntry> services,
                       bool handle_signals)
    : config_(config), services_(std::move(services)), handle_signals_(handle_signals) {}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const ServerConfig& config,
                                                             std::vector<ServiceEntry> services,
                                                             bool handle_signals) {
  for (const ServiceEntry& entry : services) {
    if (entry.service == nullptr || entry.name.empty()) {
      return absl::InvalidArgumentError("every service needs an implementation and a name");
    }
  }
  InitGrpcPlugins();
  if (handle_signals) InstallSignalHandlers();

  std::unique_ptr<GrpcServer> self(new GrpcServer(config, std::move(services), handle_signals));
  if (pipe2(self->wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("pipe2 failed, errno ", errno));
  }

  // Plaintext unless config.tls names certificate files (then TLS, or mutual TLS).
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor(config.tls);
  if (!credentials.ok()) return credentials.status();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address, *credentials, &self->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  for (const ServiceEntry& entry : self->services_) builder.RegisterService(entry.service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<CallInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(factories));

  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr || self->port_ == 0) {
    self->server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address));
  }
  // A server is stopped before it is destroyed; these undo the steps above on a failure below.
  auto stop_started = [&self] {
    for (std::unique_ptr<grpc::Server>* server : {&self->health_server_, &self->server_}) {
      if (*server == nullptr) continue;
      (*server)->Shutdown();
      (*server)->Wait();
      server->reset();
    }
  };
  if (config.health_port >= 0) {
    // Plaintext and nothing but grpc.health.v1 (no services registered: the default health
    // service, and reflection, which names only it), on the main address's host.
    const std::string address =
        absl::StrCat(config.listen_address.substr(0, config.listen_address.rfind(':')), ":",
                     config.health_port);
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                                    &self->health_port_);
    self->health_server_ = health_builder.BuildAndStart();
    if (self->health_server_ == nullptr || self->health_port_ == 0) {
      stop_started();
      return absl::UnavailableError(absl::StrCat("cannot listen on health port ", address));
    }
  }
  if (config.metrics_port >= 0) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsHttpServer>> http =
        metrics::MetricsHttpServer::Start(&metrics::Registry::Default(), config.listen_host,
                                          config.metrics_port);
    if (!http.ok()) {
      stop_started();
      return http.status();
    }
    self->metrics_server_ = *std::move(http);
  }
  self->heap_trimmer_ = std::make_unique<HeapTrimmer>(config.heap_trim_interval);
  CallsInFlight::Process().SetLimit(config.max_calls_in_flight);
  self->SetServing(true);
  // Every address the process now listens on, with the port actually bound, so an operator
  // can see from the log alone which interfaces each door is reachable on.
  const std::string grpc_host = config.listen_address.substr(0, config.listen_address.rfind(':'));
  nlohmann::json started = {
      {"severity", "INFO"},
      {"event", "server.started"},
      {"address", absl::StrCat(grpc_host, ":", self->port_)},
      {"port", self->port_},
      {"metrics_port", self->metrics_port()},
      {"health_port", self->health_port()},
      {"max_calls_in_flight", config.max_calls_in_flight},
      {"tls", !config.tls.enabled() ? "off" : config.tls.mutual() ? "mutual" : "on"}};
  if (self->metrics_server_ != nullptr) {
    started["metrics_address"] = JoinHostPort(config.listen_host, self->metrics_port());
  }
  if (self->health_server_ != nullptr) {
    started["health_address"] = absl::StrCat(grpc_host, ":", self->health_port_);
  }
  WriteLogLine(std::move(started));
  return self;
}

GrpcServer::~GrpcServer() {
  if (server_ != nullptr) Shutdown();
  // Scrapes keep working through the drain; the endpoint goes with the server object.
  if (metrics_server_ != nullptr) metrics_server_->Stop();
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
}

void GrpcServer::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_ || server_ == nullptr) return;
  SetHealthStatuses(serving);
}

void GrpcServer::SetHealthStatuses(bool serving) {
  for (grpc::Server* server : {server_.get(), health_server_.get()}) {
    grpc::HealthCheckServiceInterface* health =
        server != nullptr ? server->GetHealthCheckService() : nullptr;
    if (health == nullptr) continue;
    health->SetServingStatus(serving);  // "" and every name known so far
    for (const ServiceEntry& entry : services_) health->SetServingStatus(entry.name, serving);
  }
}

void GrpcServer::FollowProbe(std::function<bool()> probe) {
  std::unique_ptr<ServingStatusFollower> old;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    old = std::move(follower_);
    follower_ = std::make_unique<ServingStatusFollower>(
        std::move(probe), config_.health_interval, [this](bool serving) { SetServing(serving); });
  }
  // Stopped outside mu_: its thread may be waiting for mu_ in SetServing.
  if (old != nullptr) old->Stop();
}

void GrpcServer::AtDrain(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  drain_hooks_.push_back(std::move(hook));
}

void GrpcServer::Run() {
  pollfd fds[2] = {{wake_fds_[0], POLLIN, 0}, {g_signal_fds[0], POLLIN, 0}};
  nfds_t count = (handle_signals_ && g_signal_fds[0] >= 0) ? 2 : 1;
  while (true) {
    int ready = poll(fds, count, -1);
    if (ready > 0) break;
    if (ready < 0 && errno != EINTR) {
      WriteLogLine({{"severity", "ERROR"}, {"event", "server.poll_failed"}, {"errno", errno}});
      break;
    }
  }
  bool by_signal = count == 2 && (fds[1].revents & POLLIN) != 0;
  if (by_signal) DrainPipe(g_signal_fds[0]);
  DrainPipe(wake_fds_[0]);
  WriteLogLine({{"severity", "INFO"},
                {"event", "server.shutdown_requested"},
                {"by", by_signal ? "signal" : "request"}});
  if (config_.lame_duck > absl::ZeroDuration()) {
    // Lame duck: NOT_SERVING (and no probe to bring it back) while every call is still
    // served, so health-watching clients pick other replicas before the listener closes.
    std::unique_ptr<ServingStatusFollower> follower;
    {
      absl::MutexLock lock(&mu_);
      SetHealthStatuses(false);
      shutting_down_ = true;
      follower = std::move(follower_);
    }
    if (follower != nullptr) follower->Stop();
    WriteLogLine({{"severity", "INFO"},
                  {"event", "server.lame_duck"},
                  {"lame_duck_ms", absl::ToInt64Milliseconds(config_.lame_duck)}});
    absl::SleepFor(config_.lame_duck);
  }
  Shutdown();
}

void GrpcServer::RequestShutdown() {
  char byte = 1;
  ssize_t ignored = write(wake_fds_[1], &byte, 1);
  (void)ignored;
}

void GrpcServer::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (stopped_ || server_ == nullptr) return;

  std::unique_ptr<ServingStatusFollower> follower;
  std::vector<std::function<void()>> drain_hooks;
  {
    absl::MutexLock lock(&mu_);
    SetHealthStatuses(false);
    shutting_down_ = true;
    follower = std::move(follower_);
    drain_hooks.swap(drain_hooks_);
  }
  if (follower != nullptr) follower->Stop();
  for (const std::function<void()>& hook : drain_hooks) hook();

  const absl::Time start = absl::Now();
  WriteLogLine({{"severity", "INFO"},
                {"event", "server.draining"},
                {"drain_timeout_ms", absl::ToInt64Milliseconds(config_.drain_timeout)}});
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(config_.drain_timeout));
  server_->Wait();
  // The health port says NOT_SERVING through the whole drain, then closes.
  if (health_server_ != nullptr) {
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
  }
  stopped_ = true;
  WriteLogLine({{"severity", "INFO"},
                {"event", "server.stopped"},
                {"drain_ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
}

}  // namespace suite::rpc
