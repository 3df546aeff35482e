-- Classes, closures, coroutines and string formatting (deb-lua-script).
local Shape = {}
Shape.__index = Shape
function Shape.new(kind, ...) return setmetatable({ kind = kind, dims = { ... } }, Shape) end
function Shape:area()
  if self.kind == "circle" then return math.pi * self.dims[1] ^ 2 end
  if self.kind == "rect" then return self.dims[1] * self.dims[2] end
  local a, b, c = table.unpack(self.dims)
  local s = (a + b + c) / 2
  return math.sqrt(s * (s - a) * (s - b) * (s - c))
end
local shapes = { Shape.new("circle", 1.5), Shape.new("rect", 3, 4), Shape.new("tri", 3, 4, 5), Shape.new("rect", 2, 2) }
table.sort(shapes, function(x, y) return x:area() > y:area() end)
for i, s in ipairs(shapes) do print(string.format("%d %-6s %10.5f", i, s.kind, s:area())) end
local gen = coroutine.wrap(function() local a, b = 0, 1; for _ = 1, 15 do coroutine.yield(a); a, b = b, a + b end end)
local fib = {}
for v in gen do fib[#fib + 1] = v end
print(table.concat(fib, " "))
local counts = {}
for line in io.lines("words.txt") do
  for w in line:gmatch("%a+") do counts[w:lower()] = (counts[w:lower()] or 0) + 1 end
end
local keys = {}
for k in pairs(counts) do keys[#keys + 1] = k end
table.sort(keys)
print(#keys, keys[1], keys[#keys], 7 // 2, 7 / 2, 2 ^ 53, math.maxinteger, 0x10 | 0x01, "x" .. 1)
