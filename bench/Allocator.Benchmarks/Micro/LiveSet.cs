using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Micro;

/// <summary>
/// A set of live blocks replaced at random. Slot indices and sizes are drawn once into tables, so the measured
/// loop is a table read, a free and an allocation (and one write to the new block).
/// </summary>
public sealed class LiveSet<TBlock>
{
    private const int TableLength = 1 << 16;

    private readonly TBlock[] _blocks;
    private readonly int[] _slots = new int[TableLength];
    private readonly int[] _sizes = new int[TableLength];
    private int _cursor;

    public LiveSet(int liveBlocks, int minSize, int maxSize, int seed)
    {
        _blocks = new TBlock[liveBlocks];
        var random = new FastRandom((ulong)seed);
        for (int i = 0; i < TableLength; i++)
        {
            _slots[i] = random.Below(liveBlocks);
            _sizes[i] = random.Between(minSize, maxSize);
        }
    }

    /// <summary>Allocates every block.</summary>
    public void Fill<THeap>() where THeap : IBlockHeap<TBlock>
    {
        for (int i = 0; i < _blocks.Length; i++)
        {
            _blocks[i] = THeap.Alloc(_sizes[i % TableLength]);
        }
    }

    /// <summary>Replaces <paramref name="count"/> random blocks, writing the first byte of each new one.</summary>
    public void Replace<THeap>(int count) where THeap : IBlockHeap<TBlock>
    {
        int cursor = _cursor;
        TBlock[] blocks = _blocks;
        for (int i = 0; i < count; i++)
        {
            int at = cursor++ & (TableLength - 1);
            ref TBlock slot = ref blocks[_slots[at]];
            THeap.Free(slot);
            slot = THeap.Alloc(_sizes[at]);
            THeap.Bytes(slot, 1)[0] = 1;
        }

        _cursor = cursor;
    }

    /// <summary>Frees every block.</summary>
    public void Clear<THeap>() where THeap : IBlockHeap<TBlock>
    {
        for (int i = 0; i < _blocks.Length; i++)
        {
            THeap.Free(_blocks[i]);
            _blocks[i] = default!;
        }
    }
}
