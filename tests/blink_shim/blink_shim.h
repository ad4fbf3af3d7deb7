// A small host-side model of the Blink kernel language (Foundry Nuke's BlinkScript), enough to
// compile and run lutplug's generated kernels with g++ for testing.
//
// It deliberately declares only what the generated kernels are allowed to use: the vector types,
// Image<...> with pixel-wise access, SampleType(), the kernel/param/local keywords and the maths
// functions sin, cos and exp (all in Blink's maths library). It includes no system header, so a
// kernel that calls anything else (tanh, fabs, std::...) fails to compile here as well.
#ifndef LUTPLUG_BLINK_SHIM_H
#define LUTPLUG_BLINK_SHIM_H

struct float2 {
  float x, y;
  float2() : x(0), y(0) {}
  explicit float2(float v) : x(v), y(v) {}
  float2(float a, float b) : x(a), y(b) {}
  float& operator[](int i) { return (&x)[i]; }
};

struct float3 {
  float x, y, z;
  float3() : x(0), y(0), z(0) {}
  explicit float3(float v) : x(v), y(v), z(v) {}
  float3(float a, float b, float c) : x(a), y(b), z(c) {}
  float& operator[](int i) { return (&x)[i]; }
};

struct float4 {
  float x, y, z, w;
  float4() : x(0), y(0), z(0), w(0) {}
  explicit float4(float v) : x(v), y(v), z(v), w(v) {}
  float4(float a, float b, float c, float d) : x(a), y(b), z(c), w(d) {}
  float& operator[](int i) { return (&x)[i]; }
};

// Kernel granularity, image access and edge specifiers.
enum BlinkGranularity { ePixelWise, eComponentWise };
enum BlinkReadSpec { eRead, eWrite, eReadWrite };
enum BlinkAccess { eAccessPoint, eAccessRanged1D, eAccessRanged2D, eAccessRandom };
enum BlinkEdge { eEdgeNone, eEdgeClamped, eEdgeConstant };

#ifndef BLINK_SAMPLE
#define BLINK_SAMPLE float4  // an RGBA image; compile with -DBLINK_SAMPLE=float3 for RGB only
#endif

// define() and init() are optional in a Blink kernel: the base provides empty ones.
template <int Granularity>
struct ImageComputationKernel {
  void define() {}
  void init() {}
};

// Pixel-wise point access: img() is the current pixel. The test driver points `px` at it.
template <int ReadSpec, int Access = eAccessPoint, int Edge = eEdgeNone>
struct Image {
  typedef BLINK_SAMPLE sample_type;
  sample_type* px = 0;
  sample_type& operator()() { return *px; }
};

#define SampleType(image) decltype(image)::sample_type
#define kernel struct
#define param public
#define local public

// Blink maths functions used by the generated kernels (float overloads, as in Blink).
inline float sin(float a) { return __builtin_sinf(a); }
inline float cos(float a) { return __builtin_cosf(a); }
inline float exp(float a) { return __builtin_expf(a); }

#endif
