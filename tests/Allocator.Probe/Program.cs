using Allocator;

namespace Allocator.Probe;

/// <summary>
/// A child program for tests that need a process of their own (options read at start-up, process-wide RSS).
/// Each scenario prints one line per finding, "name: value", and exits 0 when it ran to the end.
/// </summary>
public static unsafe class Program
{
    public static int Main(string[] args)
    {
        string scenario = args.Length > 0 ? args[0] : "";
        switch (scenario)
        {
            case "checked":
                return Checked();
            case "inspect":
                return InspectTarget.Run();
            case "idle":
                return IdleWithoutLibrary();
            case "serve":
                return Serve(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
            case "options":
                return Options();
            case "stackmap":
                return StackMapUse();
            case "metrics":
                return Metrics();
            case "heap-work":
                return HeapWork();
            default:
                Console.Error.WriteLine($"unknown scenario '{scenario}'; known: checked, heap-work, idle, inspect, metrics, options, serve, stackmap");
                return 2;
        }
    }

    /// <summary>
    /// The allocator creates its meter only once System.Diagnostics.DiagnosticSource is loaded: after 1,000
    /// allocations the assembly is still absent; a MeterListener (which loads it) then sees every instrument.
    /// </summary>
    private static int Metrics()
    {
        var blocks = new nint[1000];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = (nint)NativeAllocator.Alloc((nuint)(16 + i));
        }

        foreach (nint block in blocks)
        {
            NativeAllocator.Free((void*)block);
        }

        bool loaded = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "System.Diagnostics.DiagnosticSource");
        Console.WriteLine($"diagnosticsource-loaded-after-allocating: {loaded}");
        MetricsListen();
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MetricsListen()
    {
        var names = new List<string>();
        long allocations = -1;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Allocator")
            {
                names.Add(instrument.Name);
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "allocator.allocations")
            {
                allocations = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Console.WriteLine($"instruments-published: {names.Count}");
        Console.WriteLine($"allocations: {allocations}");
    }

    /// <summary>
    /// A .NET process that never loads the Allocator assembly: this method touches none of its types, and the JIT
    /// loads an assembly only when it compiles a method that uses it. Prints "ready", then waits for standard input.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int IdleWithoutLibrary()
    {
        Console.WriteLine($"pid: {Environment.ProcessId}");
        Console.WriteLine("ready");
        Console.In.ReadLine();
        return 0;
    }

    private static void Report(string name, Func<object?> action)
    {
        try
        {
            object? result = action();
            Console.WriteLine($"{name}: ok {result}");
        }
        catch (Exception e)
        {
            Console.WriteLine($"{name}: {e.GetType().Name}: {e.Message}");
        }
    }

    private static int Options()
    {
        Console.WriteLine($"purge-delay-ms: {AllocatorOptions.PurgeDelayMilliseconds}");
        Console.WriteLine($"checked: {AllocatorOptions.Checked}");
        Console.WriteLine($"large-cache-bytes: {AllocatorOptions.LargeCacheBytes}");
        Console.WriteLine($"large-cache-count: {AllocatorOptions.LargeCacheCount}");
        Console.WriteLine($"label: {AllocatorOptions.LabelMemory}");
        Console.WriteLine($"stack-map: {AllocatorOptions.StackMap}");
        return 0;
    }

    /// <summary>
    /// Everyday work, for running under other options (the stack map off): blocks of many sizes written and checked,
    /// half freed by the thread that allocated them and half by another thread, a double free of each kind, then the
    /// statistics' live blocks.
    /// </summary>
    private static unsafe int HeapWork()
    {
        long liveBefore = NativeAllocator.GetStatistics().LiveBlocks;
        static nuint SizeOf(int i) => (nuint)(8 + (i * 37 % 70_000));
        var blocks = new nint[20_000];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = (nint)NativeAllocator.Alloc(SizeOf(i));
            *(int*)blocks[i] = i;
            *((byte*)blocks[i] + SizeOf(i) - 1) = (byte)i;
        }

        bool intact = true;
        for (int i = 0; i < blocks.Length; i += 2)
        {
            intact &= *(int*)blocks[i] == i && *((byte*)blocks[i] + SizeOf(i) - 1) == (byte)i;
            NativeAllocator.Free((void*)blocks[i]);
        }

        var other = new Thread(() =>
        {
            for (int i = 1; i < blocks.Length; i += 2)
            {
                intact &= *(int*)blocks[i] == i;
                NativeAllocator.Free((void*)blocks[i]);
            }
        });
        other.Start();
        other.Join();

        string DoubleFree(nint block)
        {
            try
            {
                NativeAllocator.Free((void*)block);
                return "none";
            }
            catch (InvalidOperationException e)
            {
                return e.Message.Contains("double free", StringComparison.Ordinal) ? "double free" : e.Message;
            }
        }

        Console.WriteLine($"intact: {intact}");
        Console.WriteLine($"double-free-local: {DoubleFree(blocks[0])}");
        Console.WriteLine($"double-free-remote: {DoubleFree(blocks[1])}");
        Console.WriteLine($"live-blocks-added: {NativeAllocator.GetStatistics().LiveBlocks - liveBefore}");
        Console.WriteLine($"stack-map: {AllocatorOptions.StackMap}");
        return 0;
    }

    /// <summary>Whether a thread that has allocated is found by the stack map (its fast paths skip the thread-static).</summary>
    private static unsafe int StackMapUse()
    {
        bool found = false;
        var thread = new Thread(() =>
        {
            for (int i = 0; i <= Allocator.Heap.StackMap.ConflictsBeforeSteal; i++)
            {
                NativeAllocator.Free(NativeAllocator.Alloc(20_000));
            }

            Allocator.Heap.ThreadHeap* current = Allocator.Heap.StackMap.Current();
            found = current != null && current == Allocator.Heap.Arena.t_heap;
        });
        thread.Start();
        thread.Join();
        Console.WriteLine($"found: {found}");
        return 0;
    }

    /// <summary>
    /// A target process for the diagnostics: keeps blocks of several classes, large blocks and pool owners live,
    /// churns for <paramref name="seconds"/> seconds, prints its own statistics once a second.
    /// </summary>
    private static int Serve(int seconds)
    {
        Console.WriteLine($"pid: {Environment.ProcessId}");
        var live = new List<nint>();
        foreach (int size in new[] { 16, 64, 256, 1000, 4000, 40_000 })
        {
            for (int i = 0; i < 1000; i++)
            {
                live.Add((nint)NativeAllocator.Alloc((nuint)size));
            }
        }

        for (int i = 0; i < 4; i++)
        {
            live.Add((nint)NativeAllocator.Alloc(3 << 20));
        }

        var owners = Enumerable.Range(0, 10).Select(_ => Buffers.NativeMemoryPool.Shared.Rent(64 * 1024)).ToList();
        var random = new Random(1);
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < end)
        {
            for (int i = 0; i < 100_000; i++)
            {
                int k = random.Next(live.Count - 4);
                NativeAllocator.Free((void*)live[k]);
                live[k] = (nint)NativeAllocator.Alloc((nuint)random.Next(8, 2048));
            }

            Console.WriteLine($"stats: {NativeAllocator.GetStatistics()}");
            Thread.Sleep(1000);
        }

        GC.KeepAlive(owners);
        return 0;
    }

    /// <summary>Run with ALLOCATOR_CHECKED=1: each misuse that checked mode catches is reported.</summary>
    private static int Checked()
    {
        Console.WriteLine($"checked-mode: {AllocatorOptions.Checked}");
        foreach (int size in new[] { 1, 40, 1000, 100_000, 1_000_000 })
        {
            Report($"overflow-{size}", () =>
            {
                byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
                p[size] = 1;
                NativeAllocator.Free(p);
                return null;
            });
            Report($"overflow-{size}-freed-anyway", () =>
            {
                byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
                p[size] = 1;
                try
                {
                    NativeAllocator.Free(p);
                }
                catch (InvalidOperationException)
                {
                }

                NativeAllocator.Free(p); // must now be a double free
                return null;
            });
        }

        Report("size-record", () =>
        {
            byte* p = (byte*)NativeAllocator.Alloc(10);
            new Span<byte>(p, 32).Fill(0xFF);
            NativeAllocator.Free(p);
            return null;
        });
        Report("realloc", () =>
        {
            byte* p = (byte*)NativeAllocator.Alloc(50);
            new Span<byte>(p, 50).Fill(9);
            byte* q = (byte*)NativeAllocator.Realloc(p, 40);
            byte* r = (byte*)NativeAllocator.AlignedRealloc(q, 5000, 64);
            bool kept = new Span<byte>(r, 40).IndexOfAnyExcept((byte)9) < 0;
            string result = $"moved={q != p} kept={kept} aligned={(nuint)r % 64 == 0} usable={NativeAllocator.UsableSize(r)}";
            NativeAllocator.Free(r);
            return result;
        });
        Report("zeroed", () =>
        {
            byte* p = (byte*)NativeAllocator.Alloc(500);
            new Span<byte>(p, 500).Fill(0x77);
            NativeAllocator.Free(p);
            byte* q = (byte*)NativeAllocator.AllocZeroed(500);
            bool zero = new Span<byte>(q, 500).IndexOfAnyExcept((byte)0) < 0;
            NativeAllocator.Free(q);
            return zero;
        });
        Report("write-after-free", () =>
        {
            byte* p = (byte*)NativeAllocator.Alloc(200);
            NativeAllocator.Free(p);
            p[100] = 7;
            for (int i = 0; i < 10_000; i++)
            {
                byte* q = (byte*)NativeAllocator.Alloc(200);
                if (q == p)
                {
                    return "reused without detection";
                }

                NativeAllocator.Free(q);
            }

            return "never reused";
        });
        Report("freed-pattern", () =>
        {
            byte* p = (byte*)NativeAllocator.Alloc(64);
            new Span<byte>(p, 64).Fill(1);
            NativeAllocator.Free(p);
            return $"0x{p[32]:x2}";
        });
        Report("usable-size", () =>
        {
            void* p = NativeAllocator.Alloc(100);
            nuint usable = NativeAllocator.UsableSize(p);
            NativeAllocator.Free(p);
            return usable;
        });
        Report("still-works", () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                byte* p = (byte*)NativeAllocator.Alloc((nuint)(i * 13 % 5000));
                new Span<byte>(p, i * 13 % 5000).Fill(3);
                NativeAllocator.Free(p);
            }

            return NativeAllocator.GetStatistics().LiveBlocks;
        });
        return 0;
    }
}
