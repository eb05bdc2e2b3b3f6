using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Competitors;

/// <summary>
/// One allocator in the comparison: how to tell whether it is installed, and how to run a workload (or the
/// memory test) instantiated over it. The list is in the order tables show it; ours comes first.
/// </summary>
public sealed class Competitor
{
    private readonly Func<Workload, WorkloadRun, long> _runWorkload;
    private readonly Func<MemoryTestRun, MemoryTestResult>? _runMemoryTest;
    private readonly Func<int, int, Micro.ScalingResult>? _runScalingTest;
    private readonly Func<Micro.SideBySideEntry>? _sideBySide;

    private Competitor(
        string name, string description, NativeLibraryInfo? library,
        Func<Workload, WorkloadRun, long> runWorkload, Func<MemoryTestRun, MemoryTestResult>? runMemoryTest,
        Func<int, int, Micro.ScalingResult>? runScalingTest, Func<Micro.SideBySideEntry>? sideBySide)
    {
        Name = name;
        Description = description;
        Library = library;
        _runWorkload = runWorkload;
        _runMemoryTest = runMemoryTest;
        _runScalingTest = runScalingTest;
        _sideBySide = sideBySide;
    }

    /// <summary>Every competitor, ours first.</summary>
    public static IReadOnlyList<Competitor> All { get; } =
    [
        Native<OursHeap>("NativeAllocator (this project)", null),
        Native<NativeMemoryHeap>("NativeMemory = glibc malloc", null),
        Native<LibraryHeap<Mimalloc>>("native mimalloc (libmimalloc2.0)", NativeLibraries.Mimalloc),
        Native<LibraryHeap<Jemalloc>>("native jemalloc (libjemalloc2)", NativeLibraries.Jemalloc),
        Native<LibraryHeap<Tcmalloc>>("native tcmalloc (libtcmalloc-minimal4)", NativeLibraries.Tcmalloc),
        Managed<GcHeap>("gc", "the GC: new byte[n]"),
        Managed<ArrayPoolHeap>("arraypool", "ArrayPool<byte>.Shared"),
        Managed<NativePoolHeap, System.Buffers.IMemoryOwner<byte>>("pool", "NativeMemoryPool.Shared (this project)"),
    ];

    /// <summary>The short name used on the command line and in tables.</summary>
    public string Name { get; }

    /// <summary>What it is.</summary>
    public string Description { get; }

    /// <summary>The native library it needs, if any.</summary>
    public NativeLibraryInfo? Library { get; }

    /// <summary>Whether this is the allocator under test, whose failures fail the run.</summary>
    public bool IsOurs => Name == OursHeap.Name;

    /// <summary>Whether the memory test (pointer allocators only) applies.</summary>
    public bool HasMemoryTest => _runMemoryTest is not null;

    /// <summary>Whether the paired two-thread scaling test (pointer allocators only) applies.</summary>
    public bool HasScalingTest => _runScalingTest is not null;

    /// <summary>Whether the side-by-side test (pointer allocators only) applies.</summary>
    public bool HasSideBySideTest => _sideBySide is not null;

    /// <summary>Finds a competitor by name.</summary>
    public static Competitor? Find(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether it can run here; otherwise <paramref name="missingLine"/> says how to install it.</summary>
    public bool IsAvailable(out string? missingLine)
    {
        missingLine = null;
        return Library is null || NativeLibraries.IsAvailable(Library, out missingLine);
    }

    /// <summary>Runs <paramref name="workload"/> on this allocator; returns the operations done.</summary>
    public long Run(Workload workload, WorkloadRun run) => _runWorkload(workload, run);

    /// <summary>Runs the memory test on this allocator.</summary>
    public MemoryTestResult RunMemoryTest(MemoryTestRun run) =>
        (_runMemoryTest ?? throw new InvalidOperationException($"{Name} has no memory test."))(run);

    /// <summary>Runs the paired two-thread scaling test on this allocator.</summary>
    public Micro.ScalingResult RunScalingTest(int rounds, int replacements) =>
        (_runScalingTest ?? throw new InvalidOperationException($"{Name} has no scaling test."))(rounds, replacements);

    /// <summary>This allocator's entry in the side-by-side test.</summary>
    public Micro.SideBySideEntry CreateSideBySideEntry() =>
        (_sideBySide ?? throw new InvalidOperationException($"{Name} has no side-by-side test."))();

    public override string ToString() => Name;

    private static Competitor Native<THeap>(string description, NativeLibraryInfo? library) where THeap : INativeHeap =>
        new(THeap.Name, description, library,
            static (workload, run) => workload.Run<NativeBlocks<THeap>, nint>(run),
            static run => MemoryTest.Run<THeap>(run),
            static (rounds, replacements) => Micro.ScalingTest.Run<THeap>(rounds, replacements),
            static () => new Micro.SideBySideEntry<THeap>());

    private static Competitor Managed<THeap>(string name, string description) where THeap : IBlockHeap<byte[]> =>
        Managed<THeap, byte[]>(name, description);

    private static Competitor Managed<THeap, TBlock>(string name, string description) where THeap : IBlockHeap<TBlock> =>
        new(name, description, library: null,
            static (workload, run) => workload.Run<THeap, TBlock>(run),
            runMemoryTest: null, runScalingTest: null, sideBySide: null);
}
