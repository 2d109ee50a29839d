#pragma once
/// The Lua scripts of common/lua/, embedded at build time. Argument lists are documented at
/// the top of each file.
#include <vector>

#include "lambda/redis/async_client.h"

namespace lambda::redis::scripts {

const Script& AdmitCreate();
const Script& Admit();
const Script& AdmitCancel();  ///< admit_cancel.lua
const Script& UndoAdmission();
const Script& Claim();
const Script& WriteStatus();
const Script& Page();
const Script& RenewLease();
const Script& ReleaseForRetry();
/// A worker's look at a delivered command before it holds it (fair dispatch): owner, current.
const Script& Peek();
const Script& IndexCreate();
const Script& ReconcilerLease();
const Script& ReconcileOne();
const Script& Confirm();
const Script& DismissError();
/// Read-only: one history's tail and whether entries were trimmed (tenant stream resumes).
const Script& HistoryTail();
/// Keeps an idempotency record and bounds its tenant's records (the oldest are dropped first).
const Script& IdempotencyKeep();
/// An API key's last_used, written only while the key exists.
const Script& TouchKey();
/// Replaces an instance's tags and their index entries (SPEC §4.5).
const Script& TagsReplace();
/// Read-only: a page of the ids in every given tenant index, smallest index walked first.
const Script& Select();

/// The scripts a `GroupingClient` may run several calls of in one EVALSHA (the hot, per-instance
/// ones), and that one script: ARGV is name, key count, argc, args... per call and KEYS every
/// call's keys in turn; the answer is an array of each call's answer, in order (an error answer for
/// a call that raised one).
const std::vector<const Script*>& Groupable();
bool IsGroupable(const Script& script);
const Script& Group();

}  // namespace lambda::redis::scripts
