using Allocator.Diagnostics;
using BenchmarkDotNet.Attributes;

namespace Allocator.Benchmarks.Design;

/// <summary>
/// What checked mode costs: the same operations through the default path and through the checked path
/// (<see cref="CheckedHeap"/>, which the facade uses when <c>ALLOCATOR_CHECKED=1</c>). BenchmarkDotNet runs each
/// method in its own process, so the two never share blocks.
/// </summary>
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class CheckedModeBenchmarks
{
    private readonly nint[] _live = new nint[10_000];
    private readonly int[] _sizes = new int[1 << 14];
    private readonly int[] _slots = new int[1 << 14];
    private int _position;
    private bool _checked;

    [GlobalSetup(Targets = [nameof(RandomSizesDefault), nameof(AllocFree64Default)])]
    public void SetupDefault() => Fill(false);

    [GlobalSetup(Targets = [nameof(RandomSizesChecked), nameof(AllocFree64Checked)])]
    public void SetupChecked() => Fill(true);

    private void Fill(bool isChecked)
    {
        _checked = isChecked;
        var random = new Random(4141);
        for (int i = 0; i < _sizes.Length; i++)
        {
            _sizes[i] = random.Next(8, 1025);
            _slots[i] = random.Next(_live.Length);
        }

        for (int i = 0; i < _live.Length; i++)
        {
            _live[i] = (nint)(_checked ? CheckedHeap.Alloc((nuint)_sizes[i], 0, false) : NativeAllocator.Alloc((nuint)_sizes[i]));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (nint p in _live)
        {
            if (_checked)
            {
                CheckedHeap.Free((void*)p);
            }
            else
            {
                NativeAllocator.Free((void*)p);
            }
        }
    }

    /// <summary>1,000 × (Alloc 64 B, Free), default mode.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    [BenchmarkCategory("AllocFree64")]
    public void AllocFree64Default()
    {
        for (int i = 0; i < 1000; i++)
        {
            NativeAllocator.Free(NativeAllocator.Alloc(64));
        }
    }

    /// <summary>1,000 × (Alloc 64 B, Free), checked mode.</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    [BenchmarkCategory("AllocFree64")]
    public void AllocFree64Checked()
    {
        for (int i = 0; i < 1000; i++)
        {
            CheckedHeap.Free(CheckedHeap.Alloc(64, 0, false));
        }
    }

    /// <summary>1,000 random replacements among 10,000 live blocks of 8–1024 B, default mode.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    [BenchmarkCategory("RandomSizes")]
    public void RandomSizesDefault()
    {
        int position = _position;
        for (int i = 0; i < 1000; i++)
        {
            int j = (position + i) & (_sizes.Length - 1);
            int k = _slots[j];
            NativeAllocator.Free((void*)_live[k]);
            _live[k] = (nint)NativeAllocator.Alloc((nuint)_sizes[j]);
        }

        _position = position + 1000;
    }

    /// <summary>1,000 random replacements among 10,000 live blocks of 8–1024 B, checked mode.</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    [BenchmarkCategory("RandomSizes")]
    public void RandomSizesChecked()
    {
        int position = _position;
        for (int i = 0; i < 1000; i++)
        {
            int j = (position + i) & (_sizes.Length - 1);
            int k = _slots[j];
            CheckedHeap.Free((void*)_live[k]);
            _live[k] = (nint)CheckedHeap.Alloc((nuint)_sizes[j], 0, false);
        }

        _position = position + 1000;
    }
}
