// Test driver: runs generated Blink kernels over pixels read from stdin.
//
// Build: g++ -std=c++17 -O1 -I tests/blink_shim -DKERNELS_FILE='"kernels.inc"' run_kernels.cpp
// where kernels.inc includes each kernel (struct names K0, K1, ...) and defines
// LUTPLUG_KERNEL_COUNT and `#define LUTPLUG_KERNEL_LIST X(K0) X(K1) ...`.
// stdin:  int32 kernel index, int32 pixel count n, then n * 4 float32 (r, g, b, a)
// stdout: n * 4 float32 (the kernel's dst pixels; with -DBLINK_SAMPLE=float3 the 4th is copied)
#include "blink_shim.h"
#include KERNELS_FILE

#include <cstdio>
#include <cstdlib>
#include <vector>

template <class K>
static void run(std::vector<float>& in, std::vector<float>& out, int n) {
  K* k = new K();  // heap: kernels hold their weights as member arrays
  k->define();
  k->init();
  for (int i = 0; i < n; ++i) {
    BLINK_SAMPLE s, d;
    float* sp = &s.x;
    int comps = (int)(sizeof(BLINK_SAMPLE) / sizeof(float));
    for (int c = 0; c < comps; ++c) sp[c] = in[4 * i + c];
    k->src.px = &s;
    k->dst.px = &d;
    k->process();
    float* dp = &d.x;
    for (int c = 0; c < 4; ++c) out[4 * i + c] = c < comps ? dp[c] : in[4 * i + c];
  }
  delete k;
}

int main() {
  int index = 0, n = 0;
  if (std::fread(&index, 4, 1, stdin) != 1 || std::fread(&n, 4, 1, stdin) != 1 || n < 0) return 2;
  std::vector<float> in((size_t)n * 4), out((size_t)n * 4);
  if (std::fread(in.data(), 4, in.size(), stdin) != in.size()) return 2;
  int i = 0;
#define X(K) if (index == i++) run<K>(in, out, n); else
  LUTPLUG_KERNEL_LIST { std::fprintf(stderr, "no kernel %d\n", index); return 3; }
#undef X
  std::fwrite(out.data(), 4, out.size(), stdout);
  return 0;
}
