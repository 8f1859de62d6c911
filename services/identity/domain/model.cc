#include "services/identity/domain/model.h"

#include <algorithm>

namespace suite::identity {

absl::string_view UserStatusName(UserStatus status) {
  switch (status) {
    case UserStatus::kActive:
      return "active";
    case UserStatus::kSuspended:
      return "suspended";
    case UserStatus::kDisabled:
      return "disabled";
  }
  return "active";
}

absl::string_view AccountStatusName(AccountStatus status) {
  switch (status) {
    case AccountStatus::kActive:
      return "active";
    case AccountStatus::kSuspended:
      return "suspended";
    case AccountStatus::kClosed:
      return "closed";
  }
  return "active";
}

absl::optional<UserStatus> ParseUserStatus(absl::string_view name) {
  if (name == "active") return UserStatus::kActive;
  if (name == "suspended") return UserStatus::kSuspended;
  if (name == "disabled") return UserStatus::kDisabled;
  return absl::nullopt;
}

absl::optional<AccountStatus> ParseAccountStatus(absl::string_view name) {
  if (name == "active") return AccountStatus::kActive;
  if (name == "suspended") return AccountStatus::kSuspended;
  if (name == "closed") return AccountStatus::kClosed;
  return absl::nullopt;
}

bool Principal::HasGlobalRole(absl::string_view role) const {
  return std::any_of(grants.begin(), grants.end(), [&](const RoleGrant& g) {
    return g.role == role && g.account_id.empty();
  });
}

bool Principal::IsAdmin() const { return HasGlobalRole(kAdminRole); }

}  // namespace suite::identity
