#pragma once
/// The Lua scripts of common/lua/, embedded at build time. Argument lists are documented at
/// the top of each file.
#include "lambda/redis/async_client.h"

namespace lambda::redis::scripts {

const Script& AdmitCreate();
const Script& Admit();
const Script& UndoAdmission();
const Script& Claim();
const Script& WriteStatus();
const Script& List();
const Script& RenewLease();
const Script& ReleaseForRetry();
const Script& AdmitMany();
const Script& Describe();
const Script& Reconcile();
const Script& Confirm();

}  // namespace lambda::redis::scripts
