using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Micro;
using Xunit;

namespace Allocator.Tests.Benchmarks;

/// <summary>
/// The random-replacement loop of the benchmarks reads its tables without bounds checks and in runs that never
/// wrap: every replacement must still free a live block, allocate the size the table says and write the new block,
/// and consecutive calls must continue the same sequence across the table's end.
/// </summary>
public unsafe class LiveSetTests
{
    [Fact]
    public void ReplacementsFreeLiveBlocksAndContinueTheSequenceAcrossCalls()
    {
        // The same set replaced 70,000 times in one call and in calls of 40,000, 1 and 29,999: the table (65,536
        // steps) wraps inside the first call and inside the second of the split ones.
        List<int> whole = Record(set => set.Replace<RecordingHeap>(70_000));
        List<int> split = Record(set =>
        {
            set.Replace<RecordingHeap>(40_000);
            set.Replace<RecordingHeap>(1);
            set.Replace<RecordingHeap>(29_999);
        });

        Assert.Equal(70_000, whole.Count);
        Assert.Equal(whole, split);
        Assert.All(whole, size => Assert.InRange(size, 8, 1024));
    }

    private static List<int> Record(Action<LiveSet<nint>> replace)
    {
        RecordingHeap.Reset();
        var set = new LiveSet<nint>(1000, 8, 1024, seed: 77);
        set.Fill<RecordingHeap>();
        Assert.Equal(1000, RecordingHeap.Live.Count);
        RecordingHeap.Replacements.Clear();
        replace(set);

        // Every free took a live block, every allocation replaced it, and each new block's first byte was written
        // before the next replacement (checked when the block is freed or at the end).
        Assert.Equal(1000, RecordingHeap.Live.Count);
        Assert.All(RecordingHeap.Live, b => Assert.Equal(1, *(byte*)b));
        List<int> result = [.. RecordingHeap.Replacements];
        set.Clear<RecordingHeap>();
        Assert.Empty(RecordingHeap.Live);
        return result;
    }

    /// <summary>A heap that records what the loop does; its blocks come from the allocator under test.</summary>
    private struct RecordingHeap : IBlockHeap<nint>
    {
        public static readonly HashSet<nint> Live = [];
        public static readonly List<int> Replacements = [];

        public static void Reset()
        {
            Live.Clear();
            Replacements.Clear();
        }

        public static nint Alloc(int size)
        {
            var b = (nint)NativeAllocator.Alloc((nuint)size);
            Live.Add(b);
            Replacements.Add(size);
            return b;
        }

        public static void Free(nint block)
        {
            Assert.True(Live.Remove(block), "freed a block that is not live");
            NativeAllocator.Free((void*)block);
        }

        public static Span<byte> Bytes(nint block, int size) => new((void*)block, size);
    }
}
