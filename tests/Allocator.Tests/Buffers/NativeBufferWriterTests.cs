using Allocator.Buffers;
using Xunit;
using Xunit.Abstractions;

namespace Allocator.Tests.Buffers;

/// <summary><see cref="NativeBufferWriter{T}"/>: growth through Realloc with contents kept, usable size used before reallocating, and its contracts.</summary>
public unsafe class NativeBufferWriterTests(ITestOutputHelper output)
{
    private static nint Base<T>(NativeBufferWriter<T> writer)
        where T : unmanaged
    {
        fixed (T* free = writer.GetSpan())
        {
            return (nint)(free - writer.WrittenCount);
        }
    }

    [Fact]
    public void GrowsFromNothingTo64MiBInRandomStepsKeepingContentsAndUsingTheUsableSizeFirst()
    {
        const int Target = 64 << 20;
        var random = new Random(20261127);
        using var writer = new NativeBufferWriter<byte>();
        Assert.Equal(0, writer.Capacity);
        long steps = 0, inPlace = 0;
        while (writer.WrittenCount < Target)
        {
            int hint = random.Next(4) switch
            {
                0 => 0,
                1 => random.Next(1, 100),
                2 => random.Next(100, 70_000),
                _ => random.Next(70_000, 1_500_000),
            };
            int free = writer.FreeCapacity;
            long reallocations = writer.Reallocations;
            nint before = writer.Capacity > 0 ? Base(writer) : 0;
            Span<byte> span = writer.GetSpan(hint);
            Assert.True(span.Length >= Math.Max(hint, 1));
            nint now = Base(writer);
            if (Math.Max(hint, 1) <= free)
            {
                Assert.Equal(reallocations, writer.Reallocations); // room left: no reallocation
                Assert.Equal(before, now);
            }
            else
            {
                Assert.Equal(reallocations + 1, writer.Reallocations);
                inPlace += before == now ? 1 : 0;
                Assert.Equal(-1, PositionPattern.FirstMismatch(writer.WrittenSpan, 0)); // Realloc kept the contents
            }

            Assert.Equal((nuint)writer.Capacity, NativeAllocator.UsableSize((void*)now)); // capacity is the whole usable size
            int count = Math.Min(random.Next(0, Math.Min(span.Length, (2 * Math.Max(hint, 1)) + 4096) + 1), Target - writer.WrittenCount);
            PositionPattern.Fill(span[..count], writer.WrittenCount);
            writer.Advance(count);
            steps++;
        }

        output.WriteLine($"{steps} steps, {writer.Reallocations} reallocations ({inPlace} in place), final capacity {writer.Capacity}");
        Assert.Equal(Target, writer.WrittenCount);
        Assert.Equal(-1, PositionPattern.FirstMismatch(writer.WrittenSpan, 0));
        Assert.Equal(-1, PositionPattern.FirstMismatch(writer.WrittenMemory.Span, 0));
        Assert.True(writer.Reallocations < 40, $"{writer.Reallocations} reallocations in {steps} steps ({inPlace} in place)");
    }

    [Fact]
    public void MemoryTakenBeforeGrowthStaysValidAndThrowsAfterDispose()
    {
        var writer = new NativeBufferWriter<int>(10);
        Memory<int> free = writer.GetMemory(4);
        free.Span[..4].Fill(42);
        writer.Advance(4);
        ReadOnlyMemory<int> written = writer.WrittenMemory;
        writer.GetSpan(1_000_000); // grows, most likely moving the block
        Assert.Equal([42, 42, 42, 42], written.ToArray());
        Assert.Equal(4, writer.WrittenSpan.Length);
        writer.Dispose();
        writer.Dispose();
        Assert.True(writer.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => written.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => free.Pin());
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
        Assert.Throws<ObjectDisposedException>(() => writer.WrittenSpan.Length);
        Assert.Throws<ObjectDisposedException>(() => writer.Advance(0));
        Assert.Contains("(disposed)", writer.ToString());
    }

    [Fact]
    public void ClearZeroesAndResetKeepsTheBlock()
    {
        using var writer = new NativeBufferWriter<byte>();
        writer.GetSpan(100).Fill(9);
        writer.Advance(100);
        nint block = Base(writer);
        Assert.Equal("Allocator.Buffers.NativeBufferWriter<Byte>[100/" + writer.Capacity + "]", writer.ToString());
        writer.Clear();
        Assert.Equal(0, writer.WrittenCount);
        Assert.Equal(-1, writer.GetSpan(100)[..100].IndexOfAnyExcept((byte)0));
        writer.GetSpan(10).Fill(5);
        writer.Advance(10);
        writer.ResetWrittenCount();
        Assert.Equal(0, writer.WrittenCount);
        Assert.Equal(5, writer.GetSpan()[0]);
        Assert.Equal(block, Base(writer));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(writer.Capacity + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetSpan(-1));
    }
}
