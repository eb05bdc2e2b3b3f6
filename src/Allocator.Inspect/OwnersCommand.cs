using System.Text.Json;
using Microsoft.Diagnostics.Runtime;

namespace Allocator.Inspect;

/// <summary>What <c>allocator-inspect owners</c> found: the pool owners that are alive and not disposed.</summary>
/// <param name="ProcessId">The inspected process.</param>
/// <param name="ProcessName">Its command name.</param>
/// <param name="Count">Owners reachable from a GC root whose block has not been returned.</param>
/// <param name="Bytes">The native bytes they hold.</param>
/// <param name="Owners">Those owners, largest first.</param>
/// <param name="Unreachable">Owners not disposed but no longer reachable: leaks whose blocks the pool's finalizer will free and count in its Leaked statistic at the next GC.</param>
/// <param name="UnreachableBytes">The bytes those hold until then.</param>
/// <param name="Disposed">Owner objects still on the GC heap whose block was returned (reachable or not).</param>
/// <param name="LargestRootPath">How the largest owner is reached, from a GC root to the owner; empty when there is none.</param>
public sealed record OwnersReport(
    int ProcessId,
    string ProcessName,
    int Count,
    long Bytes,
    IReadOnlyList<OwnerReport> Owners,
    int Unreachable,
    long UnreachableBytes,
    int Disposed,
    IReadOnlyList<string> LargestRootPath);

/// <summary>One owner not disposed.</summary>
/// <param name="Address">The owner object on the GC heap.</param>
/// <param name="Type">Its type, e.g. Allocator.Buffers.NativeMemoryOwner&lt;System.Byte&gt;.</param>
/// <param name="Length">Its length in elements.</param>
/// <param name="Bytes">The native block's usable size in bytes.</param>
/// <param name="Block">The native block's address.</param>
public sealed record OwnerReport(ulong Address, string Type, int Length, long Bytes, ulong Block);

/// <summary>
/// <c>owners &lt;pid&gt;</c>: walks the target's GC heap for <c>NativeMemoryOwner&lt;T&gt;</c> objects whose <c>_block</c> is set.
/// </summary>
/// <remarks>
/// "Not disposed" means: reachable from a GC root (other than the finalization queue) and holding its block. An owner
/// that is unreachable but still on the heap is a leak in flight: the next GC finalizes its block's guard, which frees
/// the memory and counts it in the pool's <c>Leaked</c>. Those are counted apart, so that the main number answers
/// "who holds my native memory?" with what the program can still reach.
/// </remarks>
internal static class OwnersCommand
{
    private const string OwnerTypePrefix = "Allocator.Buffers.NativeMemoryOwner<";

    public static void Run(Command command, TextWriter output)
    {
        OwnersReport report;
        using (TargetProcess target = TargetProcess.Attach(command.ProcessId))
        {
            report = Read(target);
        }

        if (command.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, InspectJson.Output.OwnersReport));
            return;
        }

        output.WriteLine($"process {report.ProcessId} ({report.ProcessName}): {report.Count} pool owners not disposed, {Format.Bytes(report.Bytes)} ({Format.Count(report.Bytes)} bytes)");
        if (report.Owners.Count > 0)
        {
            output.WriteLine($"  {"owner",-16} {"block",-16} {"bytes",12} {"length",10}  type");
            foreach (OwnerReport owner in report.Owners)
            {
                output.WriteLine($"  {Format.Address(owner.Address),-16} {Format.Address(owner.Block),-16} {Format.Count(owner.Bytes),12} {Format.Count(owner.Length),10}  {owner.Type}");
            }
        }

        output.WriteLine($"unreachable, not disposed (leaks the next GC will finalize and count): {report.Unreachable}, {Format.Bytes(report.UnreachableBytes)}");
        output.WriteLine($"disposed owners still on the GC heap: {report.Disposed}");
        if (report.LargestRootPath.Count > 0)
        {
            output.WriteLine("root path of the largest:");
            foreach (string step in report.LargestRootPath)
            {
                output.WriteLine($"  {step}");
            }
        }
    }

    /// <summary>The owners of <paramref name="target"/>.</summary>
    public static OwnersReport Read(TargetProcess target)
    {
        ClrHeap heap = target.Runtime.Heap;
        if (!heap.CanWalkHeap)
        {
            throw new InspectException(InspectException.Unreadable, $"process {target.ProcessId}: its GC heap cannot be walked now (a GC is in progress); try again");
        }

        var candidates = new List<(ClrObject Owner, ClrObject Block)>();
        int disposed = 0;
        foreach (ClrObject obj in heap.EnumerateObjects())
        {
            if (obj.IsArray || obj.Type?.Name is not string name || !name.StartsWith(OwnerTypePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            ClrObject block = obj.ReadObjectField("_block");
            if (block.IsNull)
            {
                disposed++;
            }
            else
            {
                candidates.Add((obj, block));
            }
        }

        HashSet<ulong> reachable = candidates.Count == 0 ? [] : Reachable(heap);
        var owners = new List<OwnerReport>();
        int unreachable = 0;
        long unreachableBytes = 0;
        foreach ((ClrObject owner, ClrObject block) in candidates)
        {
            var row = new OwnerReport(owner.Address, owner.Type!.Name!, owner.ReadField<int>("_length"), (long)block.ReadField<ulong>("Size"), block.ReadField<ulong>("Pointer"));
            if (reachable.Contains(owner.Address))
            {
                owners.Add(row);
            }
            else
            {
                unreachable++;
                unreachableBytes += row.Bytes;
            }
        }

        owners.Sort((a, b) => b.Bytes != a.Bytes ? b.Bytes.CompareTo(a.Bytes) : a.Address.CompareTo(b.Address));
        IReadOnlyList<string> path = owners.Count > 0 ? RootPath(heap, owners[0].Address) : [];
        return new OwnersReport(target.ProcessId, target.Name, owners.Count, owners.Sum(o => o.Bytes), owners, unreachable, unreachableBytes, disposed, path);
    }

    /// <summary>Every object reachable from a GC root, not counting the finalization queue (objects only it holds are dead).</summary>
    private static HashSet<ulong> Reachable(ClrHeap heap)
    {
        var marked = new HashSet<ulong>();
        var pending = new Stack<ulong>();
        foreach (ClrRoot root in heap.EnumerateRoots())
        {
            if (root.RootKind != ClrRootKind.FinalizerQueue && root.Object.Address != 0)
            {
                pending.Push(root.Object.Address);
            }
        }

        while (pending.TryPop(out ulong address))
        {
            if (!marked.Add(address))
            {
                continue;
            }

            ClrObject obj = heap.GetObject(address);
            if (!obj.IsValid || !obj.ContainsPointers)
            {
                continue;
            }

            foreach (ulong reference in obj.EnumerateReferenceAddresses(carefully: true, considerDependantHandles: true))
            {
                if (reference != 0 && !marked.Contains(reference))
                {
                    pending.Push(reference);
                }
            }
        }

        return marked;
    }

    /// <summary>One path from a GC root to <paramref name="target"/>: the root first, then each object down to the target.</summary>
    private static IReadOnlyList<string> RootPath(ClrHeap heap, ulong target)
    {
        var finder = new GCRoot(heap, [target]);
        foreach ((ClrRoot root, GCRoot.ChainLink path) in finder.EnumerateRootPaths())
        {
            if (root.RootKind == ClrRootKind.FinalizerQueue)
            {
                continue;
            }

            var steps = new List<string> { $"root: {root.RootKind} at {Format.Address(root.Address)}" };
            for (GCRoot.ChainLink? link = path; link is not null; link = link.Next)
            {
                steps.Add($"-> {Format.Address(link.Object)} {heap.GetObjectType(link.Object)?.Name ?? "?"}");
            }

            return steps;
        }

        return ["(no root path found)"];
    }
}
