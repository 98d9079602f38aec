// Initialises libsodium once per process; aborts when it cannot (no usable randomness).
#pragma once

namespace va::vault {

void InitSodium();

}  // namespace va::vault
