-- int_book_events: a row with an epoch has that epoch's ticker, connection_id and sid (int_book_top takes them
-- from int_book_epochs, not from every event)
select ev.epoch_id, ev.seq, ev.ticker, ev.connection_id, ev.sid
from int_book_events as ev
join int_book_epochs as e on e.epoch_id = ev.epoch_id
where ev.ticker is distinct from e.ticker
    or ev.connection_id is distinct from e.connection_id
    or ev.sid is distinct from e.sid
