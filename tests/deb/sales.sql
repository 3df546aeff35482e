-- A small schema, grouping, window functions, a recursive CTE and JSON (deb-sqlite-file).
CREATE TABLE fruit (name TEXT PRIMARY KEY, qty INTEGER, colour TEXT, price REAL);
INSERT INTO fruit VALUES ('pear', 12, 'green', 0.75), ('apple', 7, 'red', 1.20),
  ('fig', 30, 'purple', 2.50), ('banana', 7, 'yellow', 0.30), ('cherry', 150, 'red', 4.00),
  ('kiwi', 12, 'brown', 0.90), ('date', 30, 'brown', 3.10);
CREATE INDEX fruit_colour ON fruit(colour);
.mode list
.separator " | "
SELECT colour, count(*), sum(qty), printf('%.2f', sum(qty * price)) FROM fruit GROUP BY colour ORDER BY 4 DESC;
SELECT name, qty, rank() OVER (ORDER BY qty DESC) FROM fruit ORDER BY qty DESC, name;
WITH RECURSIVE n(i, f) AS (SELECT 1, 1 UNION ALL SELECT i + 1, f * (i + 1) FROM n WHERE i < 15) SELECT group_concat(f, ',') FROM n;
SELECT json_object('n', count(*), 'names', json_group_array(name)) FROM (SELECT name FROM fruit ORDER BY name);
UPDATE fruit SET qty = qty + 1 WHERE colour = 'red';
DELETE FROM fruit WHERE price < 0.5;
SELECT total(qty), count(*) FROM fruit;
