using Allocator.Benchmarks.Micro;
using Allocator.Benchmarks.Quick;
using BenchmarkDotNet.Running;

namespace Allocator.Benchmarks;

/// <summary>Entry point: <c>quick</c> runs the short comparison; anything else goes to BenchmarkDotNet.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "quick":
                return QuickRunner.Run(args[1..]);
            case "memory":
                return MemoryRunner.Run(args[1..]);
            case ChildProcess.Verb:
                return ChildProcess.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, MicroConfig.Create());
        return 0;
    }
}
