// What every test file reads: xunit, the harness (accelerators, seeded data, comparisons), tensors and ops.
global using IlgpuStyle.Ops;
global using IlgpuStyle.Tensors;
global using IlgpuStyle.Tests.Harness;
global using Xunit;
