// The mount layer, supervisor side: turns a Policy (and the one exposed file) into the flat list
// of MountOps the child applies inside its new mount namespace (see child_plan.h for the child
// side, ApplyMounts). MountPlan owns every string the ops point to. Move-only.
#pragma once

#include <deque>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/child_plan.h"
#include "sandbox/policy.h"

namespace va::sandbox {

class MountPlan {
 public:
  // `file`/`file_target`: the one host file exposed read-only at file_target ("" for none).
  // `tmpfs_access`/`proc_access`: the Landlock rights the child grants on those mounts.
  static Result<MountPlan> Build(const Policy& policy, const std::string& file,
                                 const std::string& file_target, uint64_t tmpfs_access,
                                 uint64_t proc_access);

  MountPlan(MountPlan&&) noexcept = default;
  MountPlan& operator=(MountPlan&&) noexcept = default;

  const std::vector<MountOp>& Ops() const { return ops_; }
  // "bind /usr" for op i, for error messages.
  std::string Describe(size_t i) const;

 private:
  MountPlan() = default;
  const char* Keep(std::string s);
  void MkdirParents(const std::string& rel, bool include_self);
  void Add(MountOpKind kind, const std::string& source, const std::string& target,
           const std::string& data = {}, uint64_t access = 0);

  std::deque<std::string> strings_;  // stable addresses
  std::set<std::string> made_dirs_;
  std::vector<MountOp> ops_;
};

}  // namespace va::sandbox
