using System.Reflection;
using System.Reflection.Emit;

namespace RdpProbe.Tests.Architecture;

/// <summary>One type using another, and where (for the failure message).</summary>
public readonly record struct TypeReference(Type From, Type To, string Where);

/// <summary>
/// Every type a type uses: its base type, interfaces, generic arguments and constraints, attributes, fields,
/// properties, events, method and constructor signatures, local variables, catch clauses, and the members its method
/// bodies touch. Method bodies are read from the IL: each instruction's operand size comes from its
/// <see cref="OpCode.OperandType"/> (ECMA-335 III.1.2), and metadata tokens of calls, field accesses, type operands
/// and ldtoken are resolved through the module with the generic context of the declaring type and method.
/// </summary>
public static class TypeReferences
{
    private const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    private static readonly OpCode[] OneByte = new OpCode[0x100];
    private static readonly OpCode[] TwoByte = new OpCode[0x100];

    static TypeReferences()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode op)
            {
                ushort value = (ushort)op.Value;
                if (op.Size == 1)
                {
                    OneByte[value] = op;
                }
                else
                {
                    TwoByte[value & 0xFF] = op;
                }
            }
        }
    }

    /// <summary>
    /// The references of <paramref name="type"/> (nested and compiler-generated types are separate types: list them
    /// too). <paramref name="unresolved"/> collects tokens the module could not resolve.
    /// </summary>
    public static IEnumerable<TypeReference> Of(Type type, ICollection<string>? unresolved = null)
    {
        var found = new List<TypeReference>();
        void Add(Type? t, string where) => Expand(type, t, where, found);

        Add(type.BaseType, "base type");
        foreach (var i in type.GetInterfaces())
        {
            Add(i, "interface");
        }

        if (type.IsGenericTypeDefinition)
        {
            foreach (var p in type.GetGenericArguments())
            {
                foreach (var c in p.GetGenericParameterConstraints())
                {
                    Add(c, $"constraint on {p.Name}");
                }
            }
        }

        Attributes(type.GetCustomAttributesData(), "attribute", Add);

        foreach (var f in type.GetFields(Declared))
        {
            Add(f.FieldType, $"field {f.Name}");
            Attributes(f.GetCustomAttributesData(), $"attribute of field {f.Name}", Add);
        }

        foreach (var p in type.GetProperties(Declared))
        {
            Add(p.PropertyType, $"property {p.Name}");
            Attributes(p.GetCustomAttributesData(), $"attribute of property {p.Name}", Add);
        }

        foreach (var e in type.GetEvents(Declared))
        {
            Add(e.EventHandlerType, $"event {e.Name}");
        }

        foreach (var m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            string where = $"{(m is ConstructorInfo ? "constructor" : "method " + m.Name)}";
            if (m is MethodInfo mi)
            {
                Add(mi.ReturnType, $"{where} return type");
                Attributes(mi.ReturnParameter.GetCustomAttributesData(), $"{where} return attribute", Add);
            }

            foreach (var p in m.GetParameters())
            {
                Add(p.ParameterType, $"{where} parameter {p.Name}");
                Attributes(p.GetCustomAttributesData(), $"{where} parameter attribute", Add);
            }

            if (m.IsGenericMethodDefinition)
            {
                foreach (var g in m.GetGenericArguments())
                {
                    foreach (var c in g.GetGenericParameterConstraints())
                    {
                        Add(c, $"{where} constraint on {g.Name}");
                    }
                }
            }

            Attributes(m.GetCustomAttributesData(), $"{where} attribute", Add);

            var body = m.GetMethodBody();
            if (body is null)
            {
                continue;
            }

            foreach (var local in body.LocalVariables)
            {
                Add(local.LocalType, $"{where} local");
            }

            foreach (var clause in body.ExceptionHandlingClauses)
            {
                if (clause.Flags == ExceptionHandlingClauseOptions.Clause)
                {
                    Add(clause.CatchType, $"{where} catch");
                }
            }

            if (body.GetILAsByteArray() is { } il)
            {
                Body(type, m, il, $"{where} body", Add, unresolved);
            }
        }

        return found;
    }

    /// <summary>Walks the IL of one method body and adds what its token operands name.</summary>
    private static void Body(Type type, MethodBase method, byte[] il, string where, Action<Type?, string> add, ICollection<string>? unresolved)
    {
        Type[]? typeArgs = type.IsGenericType ? type.GetGenericArguments() : null;
        Type[]? methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var module = method.Module;
        int i = 0;
        while (i < il.Length)
        {
            OpCode op = il[i] == 0xFE ? TwoByte[il[++i]] : OneByte[il[i]];
            i++;
            int operand = i;
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, operand)),
                _ => 4,
            };

            if (op.OperandType is not (OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok))
            {
                continue;
            }

            int token = BitConverter.ToInt32(il, operand);
            try
            {
                switch (op.OperandType == OperandType.InlineType ? module.ResolveType(token, typeArgs, methodArgs) : module.ResolveMember(token, typeArgs, methodArgs))
                {
                    case Type t:
                        add(t, $"{where}: {op.Name} {t.Name}");
                        break;
                    case FieldInfo f:
                        add(f.DeclaringType, $"{where}: {op.Name} {f.Name}");
                        add(f.FieldType, $"{where}: {op.Name} {f.Name}");
                        break;
                    case MethodBase m:
                        add(m.DeclaringType, $"{where}: {op.Name} {m.Name}");
                        if (m is MethodInfo mi)
                        {
                            add(mi.ReturnType, $"{where}: {op.Name} {m.Name} returns");
                        }

                        foreach (var p in m.GetParameters())
                        {
                            add(p.ParameterType, $"{where}: {op.Name} {m.Name} parameter");
                        }

                        if (m.IsGenericMethod)
                        {
                            foreach (var g in m.GetGenericArguments())
                            {
                                add(g, $"{where}: {op.Name} {m.Name} type argument");
                            }
                        }

                        break;
                }
            }
            catch (Exception e) when (e is ArgumentException or TypeLoadException or MissingMemberException or BadImageFormatException or IOException)
            {
                unresolved?.Add($"{type.FullName}.{method.Name}: {op.Name} token 0x{token:x8}: {e.GetType().Name}");
            }
        }
    }

    private static void Attributes(IEnumerable<CustomAttributeData> attributes, string where, Action<Type?, string> add)
    {
        foreach (var a in attributes)
        {
            add(a.AttributeType, where);
            foreach (var arg in a.ConstructorArguments.Concat(a.NamedArguments.Select(n => n.TypedValue)))
            {
                add(arg.ArgumentType, where);
                if (arg.Value is Type t)
                {
                    add(t, where);
                }
            }
        }
    }

    /// <summary>Adds the type and everything it is built from: element types of arrays, pointers and by-refs, generic arguments.</summary>
    private static void Expand(Type from, Type? to, string where, List<TypeReference> found)
    {
        while (to is not null && to.HasElementType)
        {
            to = to.GetElementType();
        }

        if (to is null || to.IsGenericParameter)
        {
            return;
        }

        if (to.IsGenericType && !to.IsGenericTypeDefinition)
        {
            foreach (var arg in to.GetGenericArguments())
            {
                Expand(from, arg, where, found);
            }

            to = to.GetGenericTypeDefinition();
        }

        found.Add(new TypeReference(from, to, where));
    }
}
