// ILGPU's core (ArrayView, Index1D, KernelConfig) and its runtime (Accelerator, MemoryBuffer, kernel loading): the
// ground every part of the engine stands on, so imported once here rather than at the top of each file.
global using ILGPU;
global using ILGPU.Runtime;
