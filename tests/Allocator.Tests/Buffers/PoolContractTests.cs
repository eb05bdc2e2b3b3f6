using System.Buffers;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Allocator.Buffers;
using Xunit;

namespace Allocator.Tests.Buffers;

/// <summary>The pool's and the owner's contracts, one at a time.</summary>
public unsafe class PoolContractTests : PoolTestBase
{
    [Fact]
    public void RentMinusOneGives4096BytesWorth()
    {
        using var pool = new NativeMemoryPool<byte>();
        using IMemoryOwner<byte> bytes = pool.Rent(-1);
        Assert.Equal(4096, bytes.Memory.Length);
        using IMemoryOwner<byte> shared = NativeMemoryPool.Shared.Rent();
        Assert.Equal(4096, shared.Memory.Length);
        using var ints = new NativeMemoryPool<int>();
        using IMemoryOwner<int> four = ints.Rent();
        Assert.Equal(1024, four.Memory.Length);
        Assert.Equal(1024, ints.DefaultBufferSize);
    }

    [Fact]
    public void RentZeroIsValid()
    {
        using IMemoryOwner<byte> owner = NativeMemoryPool.Shared.Rent(0);
        Assert.True(owner.Memory.Length >= 0);
        _ = owner.Memory.Span;
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    public void RentBelowMinusOneThrows(int size) =>
        Assert.Throws<ArgumentOutOfRangeException>("minBufferSize", () => NativeMemoryPool.Shared.Rent(size));

    [Fact]
    public void RentAboveMaxBufferSizeThrows()
    {
        Assert.True(NativeMemoryPool.Shared.MaxBufferSize >= 1 << 30, "at least 1 GiB of bytes by default");
        using var pool = new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { MaxBufferSize = 1 << 20 });
        Assert.Equal(1 << 20, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>("minBufferSize", () => pool.Rent((1 << 20) + 1));
        Assert.Throws<ArgumentOutOfRangeException>("minBufferSize", () => NativeMemoryPool.Shared.Rent(NativeMemoryPool.Shared.MaxBufferSize + 1));
        using IMemoryOwner<byte> largest = pool.Rent(1 << 20);
        Assert.True(largest.Memory.Length >= 1 << 20);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(5000)]
    [InlineData(65536)]
    [InlineData(262_144)]
    [InlineData(300_000)]
    [InlineData(1 << 20)]
    [InlineData((4 << 20) + 1)]
    public void LengthIsTheBlocksWholeUsableSize(int size)
    {
        using var pool = new NativeMemoryPool<byte>();
        using NativeMemoryOwner<byte> owner = pool.RentOwner(size);
        Assert.True(owner.Length >= size);
        Assert.Equal(owner.Length, owner.Memory.Length);
        Assert.Equal(NativeAllocator.UsableSize(owner.Pointer), (nuint)owner.Length); // nothing of the block is hidden

        owner.Span.Fill(0xA5); // every byte of it is writable
        Assert.Equal(-1, owner.Span.IndexOfAnyExcept((byte)0xA5));
    }

    [Fact]
    public void AfterDisposeEveryAccessThrowsAndDisposeIsIdempotent()
    {
        NativeMemoryOwner<byte> owner = NativeMemoryPool.Shared.RentOwner(1000);
        Memory<byte> stale = owner.Memory;
        Memory<byte> staleSlice = stale.Slice(10, 20);
        owner.Dispose();
        owner.Dispose();
        ((IDisposable)owner).Dispose();
        Assert.True(owner.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => owner.Memory);
        Assert.Throws<ObjectDisposedException>(() => owner.GetSpan());
        Assert.Throws<ObjectDisposedException>(() => owner.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => owner.Pin());
        Assert.Throws<ObjectDisposedException>(() => (nint)owner.Pointer);
        Assert.Throws<ObjectDisposedException>(() => stale.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => staleSlice.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => stale.Pin());
        Assert.Throws<ObjectDisposedException>(() => stale.ToArray());
        Assert.Throws<ObjectDisposedException>(() => stale.Slice(1).Span.Length);
        Assert.Throws<ObjectDisposedException>(() => MemoryMarshal.TryGetMemoryManager<byte, NativeMemoryOwner<byte>>(stale, out NativeMemoryOwner<byte>? m) ? m!.GetSpan().Length : 0);
    }

    [Fact]
    public void StaleMemoryNeverReachesTheBlockHandedOutAgain()
    {
        // The cache hands the same block to the next rent of the same size on this thread: the stale memory must
        // throw, not alias it. (Another test class draining the cache in between would give a new block: retry.)
        for (int attempt = 0; attempt < 100; attempt++)
        {
            NativeMemoryOwner<byte> first = NativeMemoryPool.Shared.RentOwner(4096);
            nint block = (nint)first.Pointer;
            Memory<byte> stale = first.Memory;
            first.Dispose();
            using NativeMemoryOwner<byte> second = NativeMemoryPool.Shared.RentOwner(4096);
            if ((nint)second.Pointer != block)
            {
                continue;
            }

            second.Span.Fill(7);
            Assert.Throws<ObjectDisposedException>(() => stale.Span[0] = 1);
            Assert.Throws<ObjectDisposedException>(() => stale.Pin());
            Assert.Equal(-1, second.Span.IndexOfAnyExcept((byte)7));
            return;
        }

        Assert.Fail("the cache never handed the same block out again");
    }

    [Fact]
    public void PinGivesTheBlocksAddressAndKeepsTheOwner()
    {
        using NativeMemoryOwner<int> owner = new NativeMemoryPool<int>().RentOwner(100);
        using (MemoryHandle handle = owner.Memory.Pin())
        {
            Assert.Equal((nint)owner.Pointer, (nint)handle.Pointer);
        }

        using (MemoryHandle handle = owner.Memory[10..].Pin())
        {
            Assert.Equal((nint)(owner.Pointer + 10), (nint)handle.Pointer);
        }

        using (MemoryHandle end = owner.Pin(owner.Length))
        {
            Assert.Equal((nint)(owner.Pointer + owner.Length), (nint)end.Pointer);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => owner.Pin(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => owner.Pin(owner.Length + 1));
        owner.Unpin(); // does nothing
    }

    [Fact]
    public void SegmentsAreRecognisableAsPoolMemory()
    {
        using IMemoryOwner<byte> owner = NativeMemoryPool.Shared.Rent(100);
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, NativeMemoryOwner<byte>>(owner.Memory, out NativeMemoryOwner<byte>? manager));
        Assert.Same(owner, manager);
        Assert.False(MemoryMarshal.TryGetArray<byte>(owner.Memory, out _));
    }

    [Fact]
    public void ByteBudgetThrowsInsufficientMemory()
    {
        using var pool = new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { ByteBudget = 10_000 });
        using IMemoryOwner<byte> a = pool.Rent(4096);
        using IMemoryOwner<byte> b = pool.Rent(4096);
        Assert.Throws<InsufficientMemoryException>(() => pool.Rent(4096));
        Assert.Equal(8192, pool.GetStatistics().OutstandingBytes);
        Assert.Throws<InsufficientMemoryException>(() => pool.Rent(20_000));
        b.Dispose();
        using IMemoryOwner<byte> c = pool.Rent(4096);
        Assert.Equal(2, pool.GetStatistics().Outstanding);
    }

    [Fact]
    public void DisposedPoolRefusesRentsButOutstandingOwnersStayValid()
    {
        var pool = new NativeMemoryPool<byte>();
        IMemoryOwner<byte> owner = pool.Rent(5000);
        owner.Memory.Span.Fill(3);
        pool.Dispose();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Rent(10));
        Assert.Equal(-1, owner.Memory.Span.IndexOfAnyExcept((byte)3));
        owner.Dispose();
        Assert.Equal(0, pool.GetStatistics().Outstanding);
        Assert.Contains("(disposed)", pool.ToString());

        NativeMemoryPool.Shared.Dispose(); // ignored
        using IMemoryOwner<byte> still = NativeMemoryPool.Shared.Rent(10);
    }

    [Fact]
    public void ClearOnRentAndClearOnReturnZeroTheBlock()
    {
        using (IMemoryOwner<byte> dirty = NativeMemoryPool.Shared.Rent(3000))
        {
            dirty.Memory.Span.Fill(0xFF);
        }

        using var clearing = new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { ClearOnRent = true });
        using (IMemoryOwner<byte> clean = clearing.Rent(3000))
        {
            Assert.Equal(-1, clean.Memory.Span.IndexOfAnyExcept((byte)0));
            clean.Memory.Span.Fill(0xFF);
        }

        using var returning = new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { ClearOnReturn = true });
        for (int attempt = 0; attempt < 100; attempt++)
        {
            nint block;
            using (NativeMemoryOwner<byte> owner = returning.RentOwner(3000))
            {
                owner.Span.Fill(0xEE);
                block = (nint)owner.Pointer;
            }

            // The cache gives this thread the same block back (unless another test drained it): the plain shared pool sees it zeroed.
            using NativeMemoryOwner<byte> again = NativeMemoryPool.Shared.RentOwner(3000);
            if ((nint)again.Pointer == block)
            {
                Assert.Equal(-1, again.Span.IndexOfAnyExcept((byte)0));
                return;
            }
        }

        Assert.Fail("the cache never handed the same block out again");
    }

    [Fact]
    public void ToStringNeverThrowsAndTheDebuggerViewShowsLengthAndState()
    {
        NativeMemoryOwner<byte> owner = NativeMemoryPool.Shared.RentOwner(4096);
        Assert.Equal("Allocator.Buffers.NativeMemoryOwner<Byte>[4096]", owner.ToString());
        Type proxyType = Type.GetType(typeof(NativeMemoryOwner<byte>).GetCustomAttribute<DebuggerTypeProxyAttribute>()!.ProxyTypeName)!
            .MakeGenericType(typeof(byte));
        object view = Activator.CreateInstance(proxyType, owner)!;
        Assert.Equal(4096, proxyType.GetProperty("Length")!.GetValue(view));
        Assert.Equal("live", proxyType.GetProperty("State")!.GetValue(view));
        Assert.Equal(1024, ((byte[])proxyType.GetProperty("Items")!.GetValue(view)!).Length);
        Assert.Equal("{ToString(),nq}", typeof(NativeMemoryOwner<byte>).GetCustomAttribute<DebuggerDisplayAttribute>()!.Value);
        owner.Dispose();
        Assert.Equal("Allocator.Buffers.NativeMemoryOwner<Byte>[4096] (disposed)", owner.ToString());
        Assert.Equal("disposed", proxyType.GetProperty("State")!.GetValue(view));
        Assert.Empty((byte[])proxyType.GetProperty("Items")!.GetValue(view)!);
        Assert.StartsWith("Allocator.Buffers.NativeMemoryPool<Byte>", NativeMemoryPool.Shared.ToString());
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { MaxBufferSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { ByteBudget = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { DefaultBufferSize = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NativeMemoryPool<byte>(new NativeMemoryPoolOptions { MaxBufferSize = 100, DefaultBufferSize = 101 }));
    }

    [Fact]
    public void StatisticsCountRentsReturnsAndPeak()
    {
        using var pool = new NativeMemoryPool<long>();
        IMemoryOwner<long> a = pool.Rent(512);   // 4096 bytes
        IMemoryOwner<long> b = pool.Rent(1000);  // 8000 bytes: class 8192
        a.Dispose();
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(2, s.Rents);
        Assert.Equal(1, s.Returns);
        Assert.Equal(1, s.Outstanding);
        Assert.Equal(4096 + 8192, s.RentedBytes);
        Assert.Equal(8192, s.OutstandingBytes);
        Assert.Equal(4096 + 8192, s.PeakOutstandingBytes);
        Assert.Equal(0, s.Leaked);
        b.Dispose();
        Assert.Equal(0, pool.GetStatistics().OutstandingBytes);
        Assert.Contains("2 rents", pool.GetStatistics().ToString());
    }
}
